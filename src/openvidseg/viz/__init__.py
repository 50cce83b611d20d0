"""Visual outputs: class colours, palette PNGs, overlays with legends."""
from openvidseg.viz.overlay import blend, draw_legend, overlay_frame, save_label_png
from openvidseg.viz.palette import class_colors, png_palette

__all__ = ["blend", "class_colors", "draw_legend", "overlay_frame", "png_palette", "save_label_png"]
