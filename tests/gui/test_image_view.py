"""The detail image view outlines the central region the model analyses."""

from PySide6.QtGui import QColor, QPixmap

from hemoapp.core.contract import CENTER_CROP
from hemoapp.gui.widgets.image_view import ImageView


def _render(view: ImageView):
    return view.grab().toImage()


def test_outline_sits_on_the_central_crop_of_the_drawn_image(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(304, 304)
    pixmap = QPixmap(150, 150)
    pixmap.fill(QColor(255, 255, 255))
    view.set_pixmap(pixmap)
    assert view.region_rect() is None  # no outline unless asked for

    plain = _render(view)
    view.set_region_fraction(CENTER_CROP)
    region = view.region_rect()
    drawn = view._target_rect()  # 150 px shown at 2x: 300 px, centred
    assert drawn.width() == 300
    assert region.width() == drawn.width() * CENTER_CROP
    assert region.center().x() == drawn.toRectF().center().x()

    outlined = _render(view)
    # The outline's left edge differs from the plain image somewhere along its length ...
    x = round(region.left())
    column = [outlined.pixelColor(x, y) != plain.pixelColor(x, y) for y in range(int(region.top()), int(region.bottom()))]
    assert any(column)
    # ... while the ring outside the outline and the centre are untouched.
    for point in [(drawn.left() + 5, drawn.top() + 5), (int(region.center().x()), int(region.center().y()))]:
        assert outlined.pixelColor(*point) == plain.pixelColor(*point)


def test_no_outline_without_an_image_or_for_full_field(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    view.set_region_fraction(CENTER_CROP)
    assert view.region_rect() is None  # no pixmap
    pixmap = QPixmap(100, 100)
    pixmap.fill(QColor(200, 100, 150))
    view.set_pixmap(pixmap)
    assert view.region_rect() is not None
    view.set_region_fraction(1.0)
    assert view.region_rect() is None
