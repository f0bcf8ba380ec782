"""The items of the topology scene: server nodes and the links of the seed's cluster diagram."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
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

from pmc.inventory import Role, Server
from pmc.status import NOT_CHECKED, Check, Health, Link, LinkKind, ServerStatus

NODE_WIDTH = 236.0
NODE_HEIGHT = 128.0

HEALTH_COLOURS = {
    Health.UP: QColor("#2e9e4f"),
    Health.DOWN: QColor("#d62d20"),
    Health.UNKNOWN: QColor("#8a96a3"),
}

ROLE_WORDS = {
    Role.MAIN: "main · master / primary",
    Role.BACKUP: "backup · spooler / secondary",
    Role.ADMIN: "admin",
    Role.PLAYER: "player",
}


def is_dark() -> bool:
    palette = QApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def link_colour(kind: LinkKind) -> QColor:
    """The seed's colours: HTTP green, TCP orange, UDP black (light grey on a dark theme)."""
    if kind is LinkKind.HTTP:
        return QColor("#2e9e4f")
    if kind is LinkKind.TCP:
        return QColor("#e67e22")
    if kind is LinkKind.UDP:
        return QColor("#dddddd") if is_dark() else QColor("#1a1a1a")
    if kind is LinkKind.REDUNDANCY:
        return QColor("#2b7bd6")
    return QColor("#7f8fa0")


DOWN_COLOUR = QColor("#d62d20")


def link_pen(kind: LinkKind, health: Health, selected: bool = False) -> QPen:
    width = 3.0 if kind in (LinkKind.REDUNDANCY, LinkKind.MANAGEMENT) else 2.4
    if selected:
        width += 2.0
    if health is Health.DOWN:
        pen = QPen(DOWN_COLOUR, width + 0.6)
        pen.setStyle(Qt.PenStyle.DashLine)
    elif health is Health.UNKNOWN:
        colour = QColor(link_colour(kind))
        colour.setAlpha(120)
        pen = QPen(colour, width)
        pen.setStyle(Qt.PenStyle.DotLine)
    else:
        pen = QPen(link_colour(kind), width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen


class ServerNode(QGraphicsItem):
    """A server: name, role, addresses and its state (SSH and API)."""

    def __init__(self, cluster: str, server: Server) -> None:
        super().__init__()
        self.cluster = cluster
        self.server = server
        self.status = ServerStatus(server.name)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._update_tooltip()

    @property
    def key(self) -> str:
        return f"server:{self.server.name}"

    def set_status(self, status: ServerStatus) -> None:
        self.status = status
        self._update_tooltip()
        self.update()

    @property
    def health(self) -> Health:
        reach, api = self.status.reachable.health, self.status.api.health
        if reach is Health.DOWN or api is Health.DOWN:
            return Health.DOWN
        if reach is Health.UP and api is Health.UP:
            return Health.UP
        return Health.UNKNOWN

    def _update_tooltip(self) -> None:
        s = self.server
        self.setToolTip(
            f"<b>{s.name}</b> — {ROLE_WORDS[s.role]}<br>"
            f"management (eth3): {s.management_address}<br>"
            f"redundancy (eth2): {s.redundancy_address or '—'}<br>"
            f"SSH: {self.status.reachable.tooltip.replace(chr(10), '<br>')}<br>"
            f"Playout API: {self.status.api.tooltip.replace(chr(10), '<br>')}"
        )

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
        painter.fillPath(strip, HEALTH_COLOURS[self.health])
        # text
        x = 20.0
        title = QFont(painter.font())
        title.setPointSizeF(11.5)
        title.setBold(True)
        painter.setFont(title)
        painter.setPen(text)
        painter.drawText(QPointF(x, 24), self.server.name)
        body = QFont(painter.font())
        body.setPointSizeF(9.0)
        body.setBold(False)
        painter.setFont(body)
        faded = QColor(text)
        faded.setAlpha(170)
        painter.setPen(faded)
        painter.drawText(QPointF(x, 43), ROLE_WORDS[self.server.role])
        painter.setPen(text)
        painter.drawText(QPointF(x, 66), f"eth3  {self.server.management_address}")
        painter.drawText(QPointF(x, 84), f"eth2  {self.server.redundancy_address or '—'}")
        # API state
        dot = HEALTH_COLOURS[self.status.api.health]
        painter.setBrush(dot)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(QPointF(x + 5, 105), 5, 5)
        painter.setPen(text)
        painter.drawText(QPointF(x + 16, 109), f"API {self.status.api.summary}")


class LinkItem(QGraphicsPathItem):
    """A link of the diagram; its pen shows kind (colour) and health (solid, dashed red,
    dotted)."""

    def __init__(self, link: Link, path: QPainterPath, label_at: QPointF | None = None) -> None:
        super().__init__(path)
        self.link = link
        self.check: Check = NOT_CHECKED
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
        self.set_check(NOT_CHECKED)

    @property
    def key(self) -> str:
        return self.link.key

    @property
    def health(self) -> Health:
        return self.check.health

    def set_check(self, check: Check) -> None:
        self.check = check
        self.setPen(link_pen(self.link.kind, check.health, self.isSelected()))
        if self.label is not None:
            colour = DOWN_COLOUR if check.health is Health.DOWN else link_colour(self.link.kind)
            self.label.setBrush(colour)
        state = {Health.UP: "up", Health.DOWN: "DOWN", Health.UNKNOWN: "unknown"}[check.health]
        self.setToolTip(f"{self.link.title}\nState: {state} — {check.tooltip}")

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: object) -> object:
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.setPen(link_pen(self.link.kind, self.check.health, bool(value)))
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
