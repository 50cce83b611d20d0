"""The OV2VSS modules: fusion (STF), frame enhancement (RFE), text encoding (VTE), cost volume and
aggregation, decoder, and the model."""
from openvidseg.models.ov2vss.model import OV2VSS, build_frame_model, build_ov2vss

__all__ = ["OV2VSS", "build_frame_model", "build_ov2vss"]
