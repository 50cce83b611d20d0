"""The typed config schema. Every run is described by one `ExperimentConfig`; presets (packaged YAML
files) and `key=value` overrides fill it in, and unknown keys or wrong types are errors.

Model options left at null keep the registered variant's default, so a preset names only what it changes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional


@dataclass
class ModelConfig:
    """Which registered model to build (see `openvidseg info`) and options that override its defaults."""

    name: str = "ov2vss_vitb16"
    clip: Optional[str] = None  # hub id, local folder, checkpoint file or random:<size>; null = the variant's
    checkpoint: Optional[str] = None  # trained weights (.safetensors) to load after building
    templates: Optional[str] = None  # prompt templates: imagenet80 | single | path to a text file
    ref_offsets: Optional[List[int]] = None  # reference frames relative to the target (OV2VSS: -9, -6, -3);
    # training clips are sampled with the model's offsets, and checkpoints keep them
    clip_image_size: Optional[int] = None  # CLIP input size (ViT-B/16 at 384 gives a 24x24 grid)
    dense_path: Optional[str] = None  # CLIP's last block for dense features: value (CAT-Seg's; default) | standard
    backbone: Optional[str] = None  # appearance backbone: clip | sam_vit_b | dinov2_small | dinov2_base | ...
    backbone_source: Optional[str] = None  # weights of a non-CLIP backbone: hub id, folder, or random
    use_stf: Optional[bool] = None  # spatial-temporal fusion over the reference frames
    use_rfe: Optional[bool] = None  # random (long-range) frame enhancement
    use_vte: Optional[bool] = None  # video-aware text encoding
    use_tcf: Optional[bool] = None  # temporal cost fusion (ours): the references' cost volumes fused into the target's
    tcf_radius: Optional[int] = None  # temporal cost fusion: window radius on the cost grid (2: 5x5)
    vte_queries: Optional[str] = None  # VTE queries: templates (K x P, the specification) | classes (K, ours: faster)
    cost_templates: Optional[int] = None  # 0: a cost channel per template | M: M learned template mixtures (faster)
    class_attention_stride: Optional[int] = None  # 1: class attention at the cost grid | s: on an s x s coarser grid
    class_pruning: Optional[int] = None  # inference: only k (default 20) classes by CLIP's raw logits | 0: all
    raw_dot_attention: Optional[bool] = None  # the public code's unscaled, un-normalised STF attention
    pool_ratios: Optional[List[int]] = None  # P2T pooling ratios
    num_regions: Optional[int] = None  # RFE soft regions
    aggregation: Optional[str] = None  # cost aggregation: spatial_class | linear
    aggregation_layers: Optional[int] = None
    finetune_clip: Optional[str] = None  # none | attention
    aux_weight: Optional[float] = None  # weight of the auxiliary closed-set head's loss
    temporal_smoothing: Optional[float] = None  # dense_clip: exponential smoothing of logits over frames
    num_queries: Optional[int] = None  # instance models: object queries (the peers: 100)
    clip_frames: Optional[int] = None  # instance models decoding clips jointly (OVFormer): frames per clip at inference
    memory_frames: Optional[int] = None  # CLIP-VIS top-K-enhanced matching: frames of query memory (9)
    top_k: Optional[int] = None  # CLIP-VIS top-K-enhanced matching: best-matched memory frames used (5);
    # OV-AVSS: sounding-object proposals that may be painted (10)
    num_points: Optional[int] = None  # instance models: mask points sampled per instance for the loss (12544)
    clip_ensemble: Optional[List[float]] = None  # OVFormer, ours: [alpha, beta], FC-CLIP's geometric ensemble with
    # mask-pooled CLIP at inference (CLIP's share for trained / other classes); null = the paper's inference
    audio_encoder: Optional[str] = None  # audio-visual: VGGish weights file, AST folder / hub id, or random:<kind>
    train_audio: Optional[bool] = None  # audio-visual: train the audio encoder too (frozen by default)
    crop_embedding: Optional[str] = None  # OV-AVSS crop classification: pooled (CLIP's image embedding) | best_patch
    crop_size: Optional[int] = None  # OV-AVSS crop classification: the side crops are resized to for CLIP (224)
    threshold: Optional[float] = None  # OV-AVSS: the score a painted proposal needs (0.3)


@dataclass
class SyntheticDataConfig:
    """How a `data.dataset: synthetic` set is generated into data.root when it is absent (see
    `openvidseg.data.synthetic.write_synthetic_vspw`)."""

    class_names: List[str] = field(default_factory=lambda: ["sky", "grass", "red circle", "blue square",
                                                             "green triangle", "yellow star"])
    num_stuff: int = 2  # the first N classes are textured "stuff" backgrounds, the rest moving "things"
    seen_classes: Optional[List[str]] = None  # also write seen_classes.json (use data.split=<root>/seen_classes.json)
    splits: Dict[str, int] = field(default_factory=lambda: {"train": 4, "val": 2})  # videos per split
    num_frames: int = 12
    size: List[int] = field(default_factory=lambda: [64, 96])  # (height, width)
    seed: int = 0


@dataclass
class InstanceWorldConfig:
    """How a `data.dataset: synthetic_instances` world is generated into data.root when it is absent (see
    `openvidseg.data.synthetic_instances.InstanceWorldSpec`: coloured shapes named by attribute words, novel
    classes held out of training)."""

    train_videos: int = 24
    val_videos: int = 8
    num_frames: int = 12
    size: List[int] = field(default_factory=lambda: [96, 128])  # (height, width)
    tracks_per_video: List[int] = field(default_factory=lambda: [2, 4])  # (min, max)
    crossing_prob: float = 0.0  # chance of a same-class pair that swaps places, one hidden behind the other
    seed: int = 0


@dataclass
class AudioWorldConfig:
    """How a `data.dataset: audio_world` is generated into data.root when it is absent (see
    `openvidseg.demo.audio_world.AudioWorldSpec`: shapes named and sounding by attribute words, only some
    sounding at a time, novel classes never seen nor heard in training)."""

    train_videos: int = 24
    test_videos: int = 8
    seed: int = 0


@dataclass
class DataConfig:
    """Where the data is, how classes are split and named, and how clips are sampled and augmented."""

    dataset: str = "vspw"  # vspw | cityscapes | synthetic; instance: see train_annotations below
    root: Optional[str] = None  # dataset folder (e.g. .../VSPW_480p)
    train_split: str = "train"
    val_split: str = "val"
    split: str = "ov2vss"  # seen/unseen split: ov2vss | all | path to a JSON list of seen class names
    class_names: str = "clean"  # clean ("handrail or fence") | raw ("handrail_or_fence")
    random_frame: bool = True  # sample one far-away frame per clip for RFE
    reverse_prob: float = 0.5  # reverse the whole video with this probability (training)
    crop_size: List[int] = field(default_factory=lambda: [480, 480])  # (height, width)
    scale: int = 1024  # random resize keeps the aspect ratio with long side = scale * ratio (mmseg img_scale=(scale, scale))
    ratio_range: List[float] = field(default_factory=lambda: [0.5, 2.0])
    cat_max_ratio: float = 0.75  # a crop may not be more than this share one class
    flip_prob: float = 0.5
    photometric: bool = True
    photometric_per: str = "clip"  # clip: one draw for every frame of a clip (ours) | frame: one per frame (public code)
    test_short_side: int = 480  # evaluation resize: keep aspect ratio, this short side
    batch_size: int = 1  # clips per process and micro-batch (global batch = batch_size x accumulation x processes)
    num_workers: int = 2
    synthetic: SyntheticDataConfig = field(default_factory=SyntheticDataConfig)  # dataset: synthetic only
    # instance datasets (dataset: ytvis | lvvis | ovis | burst | coco | lvis | synthetic_instances): annotation
    # files in any of those layouts (relative paths under data.root), frames found next to each file
    train_annotations: Optional[str] = None
    val_annotations: Optional[str] = None
    num_frames: int = 2  # instance training clips: frames per clip (1 for image-level training)
    frame_range: int = 20  # ... drawn within this many frames of the reference frame
    instance_world: InstanceWorldConfig = field(default_factory=InstanceWorldConfig)  # synthetic_instances only
    # audio-visual datasets (dataset: avsbench | audio_world), in the AVSBench-semantic layout; clips of
    # num_frames frames; data.split: ov_avss | all | a JSON list of base class names
    subsets: List[str] = field(default_factory=lambda: ["v1s", "v1m", "v2"])  # avsbench: which of its sets
    audio_timing: str = "vggish"  # frame k's sound: vggish (patch k, [0.96 k, 0.96 k + 0.975) s) | frames ([k, k + 0.975) s)
    audio_missing: str = "error"  # error | silence (missing or short audio)
    exclude_novel_videos: bool = True  # training leaves out videos where a novel class sounds
    audio_world: AudioWorldConfig = field(default_factory=AudioWorldConfig)  # audio_world only


@dataclass
class TrainConfig:
    """Optimisation, precision, checkpoints and logging."""

    max_iters: int = 25_000  # optimiser updates, each of `accumulation` micro-batches (mmcv counts micro-batches)
    lr: float = 3e-6  # backbone learning rate; the head gets lr * head_lr_mult
    head_lr_mult: float = 10.0
    weight_decay: float = 0.01  # none on norms and biases
    warmup_iters: int = 375  # optimiser updates (the public run's 1,500 micro-batches)
    warmup_ratio: float = 1e-6  # linear warm-up starts at lr * warmup_ratio
    poly_power: float = 0.9
    min_lr: float = 0.0  # the poly decay ends here (for every parameter group)
    lr_steps: Optional[List[int]] = None  # step decay instead of poly: lr x lr_gamma at each of these steps
    lr_gamma: float = 0.1
    accumulation: int = 4  # micro-batches per optimiser step (gradient accumulation)
    grad_clip: Optional[float] = None  # max gradient norm; null = no clipping
    precision: str = "fp32"  # fp32 | bf16 | fp16 (fp16 uses a gradient scaler, GPU only)
    seed: int = 0
    log_interval: int = 50
    eval_interval: int = 5000  # evaluate on data.val_split every N steps and at the end; 0 = never
    checkpoint_interval: int = 5000  # a full checkpoint every N steps (and at the end)
    keep_checkpoints: int = 3  # newest checkpoints kept; 0 = keep all
    resume: bool = False  # continue the run in output_dir from its latest checkpoint
    find_unused_parameters: bool = False  # DDP: set when some trainable parameters get no gradient (e.g. aux_weight=0)


@dataclass
class EvalConfig:
    """Evaluation protocol and inference mode."""

    protocol: str = "gzsl"  # gzsl | seen | unseen
    mode: str = "clip"  # clip (every frame a target with its own references) | streaming (causal)
    test_mode: str = "whole"  # whole (CLIP sees the frame squashed to its square input) | slide (CAT-Seg's
    # square windows over the frame plus the whole frame, logits merged; about 4x the cost at 480 x 854)
    background: bool = True  # under seen/unseen, add a "background" entry for the other classes
    save_predictions: bool = False  # also write prediction PNGs in the layout `openvidseg score` reads
    max_videos: Optional[int] = None  # evaluate only the first N videos (quick checks)
    max_detections: int = 50  # instance models: (track, class) detections kept per video
    reference_metrics: bool = False  # audio-visual: reproduce the released evaluation's quirks (docs/audio-visual.md)


@dataclass
class ExperimentConfig:
    """A whole run: model, data, training and evaluation, plus where outputs go."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    output_dir: str = "runs/default"
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
