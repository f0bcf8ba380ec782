"""The items of the topology scene: server nodes and the links of the manual's cluster
diagram, drawn from the health model (:mod:`pmc.health`)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsSimpleTextItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from pmc.health_model import STATE_WORDS, Finding, ServerHealth, State
from pmc.inventory import Server
from pmc.status import Link, LinkKind
from pmc.words import ROLE_NAMES

from .health_look import state_colour
from .translation import tr

NODE_WIDTH = 270.0
NODE_HEIGHT = 128.0
NOT_CHECKED = Finding(State.UNKNOWN, "not checked yet")


def is_dark() -> bool:
    palette = QApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def link_colour(kind: LinkKind) -> QColor:
    """The manual's colours: HTTP green, TCP orange, UDP black (light grey on a dark theme)."""
    if kind is LinkKind.HTTP:
        return QColor("#2e9e4f")
    if kind is LinkKind.TCP:
        return QColor("#e67e22")
    if kind is LinkKind.UDP:
        return QColor("#dddddd") if is_dark() else QColor("#1a1a1a")
    if kind is LinkKind.REDUNDANCY:
        return QColor("#5aa2f0") if is_dark() else QColor("#2b7bd6")
    return QColor("#7f8fa0")


def link_pen(kind: LinkKind, state: State, selected: bool = False) -> QPen:
    """Solid in the link's colour when OK, dashed red when failed, dashed amber when it needs
    attention, dotted and faded when unknown."""
    width = 3.0 if kind in (LinkKind.REDUNDANCY, LinkKind.MANAGEMENT) else 2.4
    if selected:
        width += 2.0
    if state in (State.FAILED, State.WARNING):
        pen = QPen(state_colour(state), width + 0.6)
        pen.setStyle(Qt.PenStyle.DashLine)
    elif state is State.OK:
        pen = QPen(link_colour(kind), width)
    else:
        colour = QColor(link_colour(kind))
        colour.setAlpha(120)
        pen = QPen(colour, width)
        pen.setStyle(Qt.PenStyle.DotLine)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen


class ServerNode(QGraphicsItem):
    """A server: name, role, addresses and its health (the strip on the left, the worst
    problem on the last line)."""

    def __init__(self, cluster: str, server: Server) -> None:
        super().__init__()
        self.cluster = cluster
        self.server = server
        self.health: ServerHealth | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._update_tooltip()

    @property
    def key(self) -> str:
        return f"server:{self.server.name}"

    def set_health(self, health: ServerHealth) -> None:
        self.health = health
        self._update_tooltip()
        self.update()

    @property
    def state(self) -> State:
        return self.health.overall if self.health is not None else State.UNKNOWN

    def status_line(self) -> tuple[State, str]:
        """What the node's last line says: the worst problem, or that all is well."""
        if self.health is None:
            return State.UNKNOWN, tr("not checked yet")
        problems = [(a, f) for a, f in self.health.findings.items()
                    if f.state in (State.FAILED, State.WARNING)]  # fmt: skip
        if problems:
            aspect, finding = max(problems, key=lambda p: p[1].state.severity)
            return finding.state, f"{tr(aspect.title)}: {tr(finding.text)}"
        if self.health.overall is State.OK:
            return State.OK, tr("all checks OK")
        return State.UNKNOWN, tr("not checked yet")

    def _update_tooltip(self) -> None:
        s = self.server
        lines = [
            f"<b>{s.name}</b> — {tr(ROLE_NAMES[s.role])}",
            tr("management (eth3): {address}").format(address=s.management_address),
            tr("redundancy (eth2): {address}").format(address=s.redundancy_address or "—"),
        ]
        if self.health is not None:
            for aspect, finding in self.health.findings.items():
                if finding.state is State.NOT_APPLICABLE:
                    continue
                lines.append(f"{finding.state.symbol} {tr(aspect.title)}: {tr(finding.text)}")
        self.setToolTip("<br>".join(lines))

    def boundingRect(self) -> QRectF:
        return QRectF(-3, -3, NODE_WIDTH + 6, NODE_HEIGHT + 6)

    def anchor(self, where: str, offset: float = 0.0) -> QPointF:
        p = self.pos()
        if where == "top":
            return QPointF(p.x() + NODE_WIDTH / 2 + offset, p.y())
        if where == "bottom":
            return QPointF(p.x() + NODE_WIDTH / 2 + offset, p.y() + NODE_HEIGHT)
        if where == "left":
            return QPointF(p.x(), p.y() + NODE_HEIGHT / 2 + offset)
        return QPointF(p.x() + NODE_WIDTH, p.y() + NODE_HEIGHT / 2 + offset)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        palette = QApplication.palette()
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        mid = palette.color(QPalette.ColorRole.Mid)
        highlight = palette.color(QPalette.ColorRole.Highlight)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT)
        border = QPen(highlight if self.isSelected() else mid, 2.5 if self.isSelected() else 1.2)
        painter.setPen(border)
        painter.setBrush(QBrush(base))
        painter.drawRoundedRect(rect, 8, 8)
        # state strip on the left
        strip = QPainterPath()
        strip.addRoundedRect(QRectF(0, 0, 10, NODE_HEIGHT), 4, 4)
        painter.fillPath(strip, state_colour(self.state))
        # text
        x = 20.0
        room = int(NODE_WIDTH - x - 8)
        title = QFont(painter.font())
        title.setPointSizeF(11.5)
        title.setBold(True)
        painter.setFont(title)
        painter.setPen(text)
        painter.drawText(QPointF(x, 24), _elided(title, self.server.name, room))
        body = QFont(painter.font())
        body.setPointSizeF(9.0)
        body.setBold(False)
        painter.setFont(body)
        faded = QColor(text)
        faded.setAlpha(170)
        painter.setPen(faded)
        role = tr(ROLE_NAMES[self.server.role])
        if self.server.name != ROLE_NAMES[self.server.role]:  # "main" once, not "main / main"
            painter.drawText(QPointF(x, 43), role)
        painter.setPen(text)
        painter.drawText(QPointF(x, 66), f"eth3  {self.server.management_address}")
        painter.drawText(QPointF(x, 84), f"eth2  {self.server.redundancy_address or '—'}")
        state, line = self.status_line()
        painter.setBrush(state_colour(state))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(QPointF(x + 5, 105), 5, 5)
        painter.setPen(state_colour(state) if state is State.FAILED else text)
        painter.drawText(QPointF(x + 16, 109), _elided(body, line, room - 16))


def _elided(font: QFont, text: str, width: int) -> str:
    """Cut at the end if it must be (the node's tooltip and the table hold the whole text)."""
    return QFontMetrics(font).elidedText(text, Qt.TextElideMode.ElideRight, width)


class LinkItem(QGraphicsPathItem):
    """A link of the diagram; its pen shows its kind (colour) and the health of the table
    cells it stands for (:func:`pmc.health.link_aspects`): solid, dashed red, dashed amber,
    dotted."""

    def __init__(self, link: Link, path: QPainterPath, label_at: QPointF | None = None) -> None:
        super().__init__(path)
        self.link = link
        self.finding: Finding = NOT_CHECKED
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setZValue(-1)
        self.label: QGraphicsSimpleTextItem | None = None
        if label_at is not None:
            self.label = QGraphicsSimpleTextItem(_short_label(link), self)
            font = QFont()
            font.setPointSizeF(8.5)
            font.setBold(True)
            self.label.setFont(font)
            r = self.label.boundingRect()
            self.label.setPos(label_at.x() - r.width() / 2, label_at.y() - r.height() - 2)
        self.set_finding(NOT_CHECKED)

    @property
    def key(self) -> str:
        return self.link.key

    @property
    def state(self) -> State:
        return self.finding.state

    def set_finding(self, finding: Finding) -> None:
        self.finding = finding
        self.setPen(link_pen(self.link.kind, finding.state, self.isSelected()))
        if self.label is not None:
            bad = finding.state in (State.FAILED, State.WARNING)
            self.label.setBrush(state_colour(finding.state) if bad else link_colour(self.link.kind))
        lines = [self.link.title, f"{tr(STATE_WORDS[finding.state])}: {tr(finding.text)}"]
        if finding.cause:
            lines.append(finding.cause)
        self.setToolTip("\n".join(lines))

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: object) -> object:
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.setPen(link_pen(self.link.kind, self.finding.state, bool(value)))
        return super().itemChange(change, value)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        return stroker.createStroke(self.path())


def _short_label(link: Link) -> str:
    if link.kind is LinkKind.REDUNDANCY:
        return "eth2 redundancy"
    if link.kind is LinkKind.MANAGEMENT:
        return "eth3"
    return link.kind.label
