"""Audio encoders behind one interface (`AudioEncoder`: waveform windows (B, L) -> embeddings (B, D)):
VGGish (its log-mel front end and network, loading the public weights strictly) and the transformers
Audio Spectrogram Transformer. `load_audio_encoder(source)` is the front door."""
from openvidseg.models.audio.encoder import AudioEncoder, load_audio_encoder
from openvidseg.models.audio.log_mel import VGGishLogMel

__all__ = ["AudioEncoder", "VGGishLogMel", "load_audio_encoder"]
