"""The cluster topology in the centre of the main window (QGraphicsView).

Servers are nodes; links are drawn as the vendor's manual's cluster diagram draws them: the
management network (eth3) from the operator's desktop, the eth2 redundancy link between main
and backup, and from the main (or admin) server to each other server HTTP 80 (green), TCP
22/2001/5555 (orange) and UDP 161/162 (black). Each link shows the health of the status
table's cells it stands for (:mod:`pmc.health`): solid when OK, dashed red when failed,
dashed amber when it needs attention, dotted when unknown. The scene is drawn again when the
palette changes (dark mode switched while PMC runs).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from pmc.health_model import ClusterHealth, State
from pmc.inventory import Cluster, Role, Server
from pmc.status import Link, LinkKind, links_of

from .topology_items import (
    NODE_WIDTH,
    LinkItem,
    ServerNode,
    link_colour,
    link_pen,
)
from .translation import tr

GAP = 110.0
MIN_FIT_SCALE = 0.85  # "fit" never shrinks the diagram's 8.5 pt labels below ~9.5 px
BUS_Y = -80.0
OPERATOR_Y = -170.0
OPERATOR_ADDRESS = "operator"

PORT_KINDS = (LinkKind.HTTP, LinkKind.TCP, LinkKind.UDP)


def ordered(cluster: Cluster) -> list[Server]:
    """Main/admin first, then backup, then players: eth2 then joins neighbours."""
    rank = {Role.MAIN: 0, Role.ADMIN: 0, Role.BACKUP: 1, Role.PLAYER: 2}
    return sorted(cluster.servers, key=lambda s: rank[s.role])


class TopologyScene(QGraphicsScene):
    """Emits :attr:`activated` with ``("server", name)`` or ``("link", key)`` on a click."""

    activated = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cluster: Cluster | None = None
        self.nodes: dict[str, ServerNode] = {}
        self.links: dict[str, LinkItem] = {}
        self.health: ClusterHealth | None = None
        self._kept: list[QGraphicsItem] = []  # every top-level item, held by Python
        self._quiet = False
        self.selectionChanged.connect(self._selection_changed)

    # building ------------------------------------------------------------------------------
    def addItem(self, item: QGraphicsItem) -> None:
        super().addItem(item)
        self._kept.append(item)

    def text_item(self, text: str, font: QFont | None = None) -> QGraphicsSimpleTextItem:
        """A text of the scene, made here (not by ``addSimpleText``): the scene is redrawn
        with ``clear()``, and an item Qt made itself would leave a stale Python wrapper."""
        item = QGraphicsSimpleTextItem(text)
        if font is not None:
            item.setFont(font)
        self.addItem(item)
        return item

    def path_item(self, path: QPainterPath, pen: QPen) -> QGraphicsPathItem:
        item = QGraphicsPathItem(path)
        item.setPen(pen)
        self.addItem(item)
        return item

    def show_cluster(self, cluster: Cluster | None) -> None:
        self._quiet = True
        # every item was made in Python and is held in _kept: take them out and let Python
        # delete them (clear() would delete them behind their Python wrappers' back)
        for item in self._kept:
            self.removeItem(item)
        self._kept.clear()
        self.nodes.clear()
        self.links.clear()
        if cluster is None or self.cluster is None or cluster.name != self.cluster.name:
            self.health = None
        self.cluster = cluster
        self._quiet = False
        if cluster is None or not cluster.servers:
            hint = (
                tr("Cluster {name} has no servers yet. Use Server ▸ Add… to describe them.").format(
                    name=cluster.name
                )
                if cluster is not None
                else tr("No cluster selected.")
            )
            text = self.text_item(hint)
            text.setBrush(QApplication.palette().color(QPalette.ColorRole.Text))
            return
        servers = ordered(cluster)
        for i, server in enumerate(servers):
            node = ServerNode(cluster.name, server)
            node.setPos(i * (NODE_WIDTH + GAP), 0)
            self.addItem(node)
            self.nodes[server.name] = node
        self._add_management(servers)
        for link in links_of(cluster):
            if link.kind is LinkKind.REDUNDANCY:
                self._add_redundancy(link)
            elif link.kind in PORT_KINDS:
                self._add_port_link(link)
        self._add_legend()

    def _add_management(self, servers: list[Server]) -> None:
        left = -40.0
        right = (len(servers) - 1) * (NODE_WIDTH + GAP) + NODE_WIDTH + 40
        bus = QPainterPath(QPointF(left, BUS_Y))
        bus.lineTo(right, BUS_Y)
        bus_item = self.path_item(bus, QPen(link_colour(LinkKind.MANAGEMENT), 4))
        bus_item.setZValue(-2)
        bus_item.setToolTip(tr("Management network (eth3)"))
        label = self.text_item(tr("management network (eth3)"))
        label.setBrush(link_colour(LinkKind.MANAGEMENT))
        label.setPos(left, BUS_Y - 20)
        # the operator's desktop on the bus
        centre = (left + right) / 2
        box = QGraphicsRectItem(QRectF(centre - 85, OPERATOR_Y - 18, 170, 40))
        palette = QApplication.palette()
        box.setBrush(QBrush(palette.color(QPalette.ColorRole.AlternateBase)))
        box.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        box.setToolTip(tr("This desktop, running PMC"))
        self.addItem(box)
        text = QGraphicsSimpleTextItem(tr("Operator (PMC)"), box)
        text.setBrush(palette.color(QPalette.ColorRole.Text))
        r = text.boundingRect()
        text.setPos(centre - r.width() / 2, OPERATOR_Y + 2 - r.height() / 2)
        stub = QPainterPath(QPointF(centre, OPERATOR_Y + 22))
        stub.lineTo(centre, BUS_Y)
        self.path_item(stub, QPen(link_colour(LinkKind.MANAGEMENT), 3)).setZValue(-2)
        for link in links_of(self.cluster) if self.cluster else []:
            if link.kind is not LinkKind.MANAGEMENT:
                continue
            node = self.nodes[link.target]
            top = node.anchor("top", -60)
            path = QPainterPath(QPointF(top.x(), BUS_Y))
            path.lineTo(top)
            item = LinkItem(link, path)
            self.addItem(item)
            self.links[link.key] = item

    def _add_redundancy(self, link: Link) -> None:
        assert link.source is not None
        a, b = self.nodes[link.source], self.nodes[link.target]
        start, end = a.anchor("right", -28), b.anchor("left", -28)
        path = QPainterPath(start)
        if abs(a.pos().x() - b.pos().x()) <= NODE_WIDTH + GAP + 1:
            path.lineTo(end)
            mid = QPointF((start.x() + end.x()) / 2, start.y())
        else:  # not neighbours: arc over the nodes in between
            top_a, top_b = a.anchor("top", 60), b.anchor("top", -60)
            path = QPainterPath(top_a)
            path.cubicTo(top_a + QPointF(0, -55), top_b + QPointF(0, -55), top_b)
            mid = path.pointAtPercent(0.5)
        item = LinkItem(link, path, label_at=mid)
        self.addItem(item)
        self.links[link.key] = item

    def _add_port_link(self, link: Link) -> None:
        assert link.source is not None
        a, b = self.nodes[link.source], self.nodes[link.target]
        index = PORT_KINDS.index(link.kind)
        distance = abs(b.pos().x() - a.pos().x()) / (NODE_WIDTH + GAP)
        # nested arcs: HTTP innermost, UDP outermost; farther peers get deeper arcs
        spread = 80 - index * 35
        start = a.anchor("bottom", spread)
        end = b.anchor("bottom", -spread)
        depth = 42 + index * 34 + (distance - 1) * 115
        path = QPainterPath(start)
        path.cubicTo(start + QPointF(0, depth), end + QPointF(0, depth), end)
        mid = path.pointAtPercent(0.5)
        item = LinkItem(link, path, label_at=mid + QPointF(0, -2))
        self.addItem(item)
        self.links[link.key] = item

    def _add_legend(self) -> None:
        rect = self.itemsBoundingRect()
        x, y = rect.left(), rect.bottom() + 28
        palette = QApplication.palette()
        font = QFont()
        font.setPointSizeF(8.5)
        entries: list[tuple[str, QPen]] = [
            ("HTTP 80", link_pen(LinkKind.HTTP, State.OK)),
            ("TCP 22, 2001, 5555", link_pen(LinkKind.TCP, State.OK)),
            ("UDP 161, 162", link_pen(LinkKind.UDP, State.OK)),
            (tr("eth2 redundancy"), link_pen(LinkKind.REDUNDANCY, State.OK)),
            (tr("failed"), link_pen(LinkKind.TCP, State.FAILED)),
            (tr("needs attention"), link_pen(LinkKind.TCP, State.WARNING)),
            (tr("not checked"), link_pen(LinkKind.TCP, State.UNKNOWN)),
        ]
        for label, pen in entries:
            line = QPainterPath(QPointF(x, y))
            line.lineTo(x + 30, y)
            self.path_item(line, pen)
            text = self.text_item(label, font)
            text.setBrush(palette.color(QPalette.ColorRole.Text))
            text.setPos(x + 36, y - text.boundingRect().height() / 2)
            x += 36 + text.boundingRect().width() + 22

    # live state ----------------------------------------------------------------------------
    def apply_health(self, health: ClusterHealth) -> None:
        if self.cluster is None or health.cluster != self.cluster.name:
            return
        self.health = health
        for name, server in health.servers.items():
            node = self.nodes.get(name)
            if node is not None:
                node.set_health(server)
        for key, finding in health.links.items():
            item = self.links.get(key)
            if item is not None:
                item.set_finding(finding)

    def link_state(self, key: str) -> State:
        return self.links[key].state

    # selection -----------------------------------------------------------------------------
    def select(self, kind: str, key: str) -> None:
        self._quiet = True
        self.clearSelection()
        item = self.nodes.get(key) if kind == "server" else self.links.get(key)
        if item is not None:
            item.setSelected(True)
        self._quiet = False

    def _selection_changed(self) -> None:
        if self._quiet:
            return
        for item in self.selectedItems():
            if isinstance(item, ServerNode):
                self.activated.emit("server", item.server.name)
                return
            if isinstance(item, LinkItem):
                self.activated.emit("link", item.key)
                return


class TopologyView(QGraphicsView):
    """Zoom (Ctrl+wheel, actions), pan (drag), fit, and export as PNG or SVG."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.topology = TopologyScene()
        super().__init__(self.topology, parent)
        self.setObjectName("topologyView")
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setToolTip("")
        self.setMinimumSize(QSize(420, 260))
        self._auto_fit = True

    def show_cluster(self, cluster: Cluster | None) -> None:
        self.topology.show_cluster(cluster)
        if self.topology.health is not None:
            self.topology.apply_health(self.topology.health)
        margin = 40
        self.topology.setSceneRect(
            self.topology.itemsBoundingRect().adjusted(-margin, -margin, margin, margin)
        )
        self._auto_fit = True
        self.fit()

    # zoom and pan --------------------------------------------------------------------------
    def zoom(self, factor: float) -> None:
        self._auto_fit = False
        current = self.transform().m11()
        factor = max(0.2 / current, min(4.0 / current, factor))
        self.scale(factor, factor)

    def zoom_in(self) -> None:
        self.zoom(1.25)

    def zoom_out(self) -> None:
        self.zoom(0.8)

    def apply_health(self, health: ClusterHealth) -> None:
        self.topology.apply_health(health)

    def fit(self) -> None:
        """The whole diagram in view, but never so small that its text cannot be read (the
        view scrolls then), nor larger than 1.3×."""
        self._auto_fit = True
        self.fitInView(self.topology.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        scale = self.transform().m11()
        if scale > 1.3 or scale < MIN_FIT_SCALE:
            self.resetTransform()
            target = min(1.3, max(MIN_FIT_SCALE, scale))
            self.scale(target, target)
            if self.topology.nodes:  # too big to fit: the servers stay in view
                centre = QRectF()
                for node in self.topology.nodes.values():
                    centre = centre.united(node.sceneBoundingRect())
                self.centerOn(centre.center())

    def restyle(self) -> None:
        """Draw the scene again in the palette's colours (dark mode switched while running)."""
        zoom = None if self._auto_fit else self.transform()
        self.show_cluster(self.topology.cluster)
        if zoom is not None:
            self.setTransform(zoom)
            self._auto_fit = False

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.restyle()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.15 if event.angleDelta().y() > 0 else 1 / 1.15)
            event.accept()
            return
        super().wheelEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._auto_fit:
            self.fit()

    # export --------------------------------------------------------------------------------
    def export(self, path: Path) -> None:
        """Write the whole diagram to ``path`` (``.svg`` as SVG, anything else as PNG)."""
        source = self.topology.sceneRect()
        background = QApplication.palette().color(QPalette.ColorRole.Base)
        if path.suffix.lower() == ".svg":
            generator = QSvgGenerator()
            generator.setFileName(str(path))
            generator.setSize(source.size().toSize())
            generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
            generator.setTitle(tr("PMC cluster topology"))
            painter = QPainter(generator)
            painter.fillRect(QRectF(0, 0, source.width(), source.height()), background)
            self.topology.render(painter, QRectF(0, 0, source.width(), source.height()), source)
            painter.end()
            return
        scale = 2.0
        image = QImage(
            int(source.width() * scale), int(source.height() * scale), QImage.Format.Format_ARGB32
        )
        image.fill(QColor(background))
        painter = QPainter(image)
        painter.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
        )
        self.topology.render(painter, QRectF(image.rect()), source)
        painter.end()
        if not image.save(str(path)):
            raise OSError(f"cannot write {path}")
