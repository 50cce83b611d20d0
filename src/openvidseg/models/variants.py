"""Every named model variant. Adding a model = one `register_model` call here (plus its family builder)."""
from __future__ import annotations

from openvidseg.models.registry import ModelVariant, register_family, register_model

register_family("ov2vss", "openvidseg.models.ov2vss.model:build_ov2vss")
register_family("frame", "openvidseg.models.ov2vss.model:build_frame_model")
register_family("dense_clip", "openvidseg.models.dense_clip:build_dense_clip")
register_family("clip_vis", "openvidseg.models.instance.model:build_clip_vis")
register_family("ovformer", "openvidseg.models.instance.model:build_ovformer")
register_family("ov_avss", "openvidseg.models.audio_visual.model:build_ov_avss")

VITB16 = "openai/clip-vit-base-patch16"
VITL14 = "openai/clip-vit-large-patch14"
TINY_CLIP = "random:tiny"
# small enough for unit tests on a CPU: a 64-wide, 4-layer random CLIP and a 32-channel head
TINY_HEAD = dict(clip_image_size=128, hidden_dim=32, cost_dim=16, guidance_dim=16, decoder_dims=(16, 8),
                 decoder_guidance_dims=(8, 4), pool_ratios=(2, 4), num_regions=8, attention_heads=2,
                 text_heads=2, aggregation_heads=2)
# tiny instance models: a 32-wide Mask2Former stack with 10 queries on the tiny random CLIP
TINY_INSTANCE = dict(hidden_dim=32, mask_dim=32, num_queries=10, encoder_layers=2, decoder_layers=3, heads=2,
                     encoder_ffn_dim=64, decoder_ffn_dim=64, alignment_heads=2, num_points=1024)
# tiny audio-visual models: the same stack with a tiny random VGGish and a narrow fusion block
TINY_AUDIO_VISUAL = {**{k: v for k, v in TINY_INSTANCE.items() if k != "alignment_heads"},
                     "audio_encoder": "random:vggish-tiny", "fusion_dim": 32, "fusion_heads": 2, "crop_size": 32}
AST = "MIT/ast-finetuned-audioset-10-10-0.4593"

for variant in (
    ModelVariant("ov2vss_vitb16", "ov2vss", VITB16, "ov2vss_vitb16_vspw",
                 description="OV2VSS on CLIP ViT-B/16; CLIP's layers 3/6/9/12 as appearance features"),
    ModelVariant("ov2vss_vitb16_sam", "ov2vss", VITB16, "ov2vss_vitb16_sam_vspw", {"backbone": "sam_vit_b"},
                 "OV2VSS on CLIP ViT-B/16 with SAM ViT-B appearance features (as the public code)"),
    ModelVariant("ov2vss_vitb16_dinov2", "ov2vss", VITB16, "ov2vss_vitb16_vspw", {"backbone": "dinov2_base"},
                 "OV2VSS on CLIP ViT-B/16 with DINOv2 ViT-B/14 appearance features"),
    ModelVariant("frame_vitb16", "frame", VITB16, "frame_vitb16_vspw",
                 description="Per-frame baseline: OV2VSS without STF, RFE and VTE"),
    ModelVariant("dense_clip_vitb16", "dense_clip", VITB16, "dense_clip_vspw",
                 description="Training-free dense CLIP ViT-B/16 (self-self attention last block, sliding windows)"),
    ModelVariant("dense_clip_vitl14", "dense_clip", VITL14, "dense_clip_vspw",
                 description="Training-free dense CLIP ViT-L/14"),
    ModelVariant("ov2vss_tiny", "ov2vss", TINY_CLIP, "ov2vss_tiny_synthetic", TINY_HEAD, "Tiny random OV2VSS for tests"),
    ModelVariant("ov2vss_tiny_sam", "ov2vss", TINY_CLIP, "ov2vss_tiny_synthetic",
                 {**TINY_HEAD, "backbone": "sam_vit_b", "backbone_source": "random:tiny"}, "Tiny OV2VSS with a tiny SAM"),
    ModelVariant("ov2vss_tiny_dinov2", "ov2vss", TINY_CLIP, "ov2vss_tiny_synthetic",
                 {**TINY_HEAD, "backbone": "dinov2_small", "backbone_source": "random:tiny"}, "Tiny OV2VSS with a tiny DINOv2"),
    ModelVariant("frame_tiny", "frame", TINY_CLIP, "frame_tiny_synthetic",
                 {k: v for k, v in TINY_HEAD.items() if k not in ("num_regions", "text_heads")}, "Tiny per-frame baseline"),
    ModelVariant("dense_clip_tiny", "dense_clip", TINY_CLIP, "dense_clip_tiny_synthetic",
                 {"short_side": 96, "window": 64, "stride": 32}, "Tiny training-free dense CLIP for tests"),
    ModelVariant("clip_vis_vitb16", "clip_vis", VITB16, "clip_vis_vitb16_lvis", task="instance",
                 description="CLIP-VIS on a frozen CLIP ViT-B/16 (simple feature pyramid, Mask2Former pixel and query "
                             "decoders, class-agnostic heads, mask-pooled CLIP classes, top-K-enhanced matching)"),
    ModelVariant("ovformer_vitb16", "ovformer", VITB16, "ovformer_vitb16_lvis", task="instance",
                 description="OVFormer on a frozen CLIP ViT-B/16 (unified embedding alignment, semi-online 5-frame clips)"),
    ModelVariant("clip_vis_tiny", "clip_vis", TINY_CLIP, "clip_vis_tiny_synthetic", TINY_INSTANCE,
                 "Tiny random CLIP-VIS for tests", task="instance"),
    ModelVariant("ovformer_tiny", "ovformer", TINY_CLIP, "ovformer_tiny_synthetic", TINY_INSTANCE,
                 "Tiny random OVFormer for tests", task="instance"),
    ModelVariant("ov_avss_vitb16", "ov_avss", VITB16, "ov_avss_vitb16_avsbench", {"audio_encoder": "vggish"},
                 "OV-AVSS on a frozen CLIP ViT-B/16 and VGGish (audio-visual attention before the pixel decoder, "
                 "audio-reading queries over 5-frame clips, CLIP crop classification)", task="audio-visual"),
    ModelVariant("ov_avss_vitb16_ast", "ov_avss", VITB16, "ov_avss_vitb16_avsbench", {"audio_encoder": AST},
                 "OV-AVSS with an Audio Spectrogram Transformer (AudioSet) instead of VGGish", task="audio-visual"),
    ModelVariant("ov_avss_tiny", "ov_avss", TINY_CLIP, "ov_avss_tiny_synthetic", TINY_AUDIO_VISUAL,
                 "Tiny random OV-AVSS for tests", task="audio-visual"),
):
    register_model(variant)
