package dev.sapienseg.provisioning;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

import dev.sapienseg.model.Normalization;

/**
 * The known Sapiens segmentation exports and the settings they need. {@code hf-*} presets name the onnx-community
 * exports on Hugging Face (downloaded when no path or URI is given; they were made with the training config's
 * ImageNet normalisation). {@code lite-*} presets describe files made by {@code deploy/export/sapiens_export.py} from
 * the official TorchScript checkpoints; they have no download location (give a path or URI) and use the Sapiens-Lite
 * demo normalisation, so results match Sapiens-Lite's {@code seg.sh}.
 */
public enum ModelPreset {
    HF_0_3B("hf-0.3b", "hf://onnx-community/sapiens-seg-0.3b@" + Revisions.SEG_0_3B + "/onnx/model.onnx",
            Normalization.IMAGENET, "0.3b fp32, 1.4 GB"),
    HF_0_3B_FP16("hf-0.3b-fp16", "hf://onnx-community/sapiens-seg-0.3b@" + Revisions.SEG_0_3B + "/onnx/model_fp16.onnx",
            Normalization.IMAGENET, "0.3b fp16, 0.7 GB"),
    HF_0_6B("hf-0.6b", "hf://onnx-community/sapiens-seg-0.6b/onnx/model.onnx", Normalization.IMAGENET,
            "0.6b fp32, 2.7 GB with external data"),
    HF_0_6B_FP16("hf-0.6b-fp16", "hf://onnx-community/sapiens-seg-0.6b/onnx/model_fp16.onnx", Normalization.IMAGENET,
            "0.6b fp16, 1.3 GB", "cfdbe895c5c7fddc58c3125c6726a2229a1127345812c520cb39bf5982247895"),
    LITE_0_3B("lite-0.3b", null, Normalization.LITE, "0.3b exported from TorchScript, fp32"),
    LITE_0_3B_FP16("lite-0.3b-fp16", null, Normalization.LITE, "0.3b exported from TorchScript, fp16"),
    LITE_0_6B("lite-0.6b", null, Normalization.LITE, "0.6b exported from TorchScript, fp32"),
    LITE_0_6B_FP16("lite-0.6b-fp16", null, Normalization.LITE, "0.6b exported from TorchScript, fp16"),
    LITE_1B("lite-1b", null, Normalization.LITE, "1b exported from TorchScript, fp32, 4.7 GB with external data"),
    LITE_1B_FP16("lite-1b-fp16", null, Normalization.LITE, "1b exported from TorchScript, fp16, 2.4 GB");

    /**
     * Hugging Face commits the presets are pinned to, where a full commit hash could be confirmed: onnx-community's
     * sapiens-seg-0.3b commit "Upload folder using huggingface_hub" (2024-08-26), the one that added {@code onnx/}.
     * sapiens-seg-0.6b follows {@code main} (no full commit hash could be confirmed; pin one with
     * {@code sapiens.model.uri=hf://onnx-community/sapiens-seg-0.6b@<commit>/onnx/model.onnx}).
     */
    static final class Revisions {
        static final String SEG_0_3B = "9f6f12fb68dfa251f579a9b7cfa8072d4cab58a9";

        private Revisions() {
        }
    }

    private final String id;
    private final String location;
    private final Normalization normalization;
    private final String description;
    private final String sha256;

    ModelPreset(String id, String location, Normalization normalization, String description) {
        this(id, location, normalization, description, null);
    }

    /** @param sha256 the model file's SHA-256 as its publisher lists it (the Hub's LFS object id), where known */
    ModelPreset(String id, String location, Normalization normalization, String description, String sha256) {
        this.id = id;
        this.location = location;
        this.normalization = normalization;
        this.description = description;
        this.sha256 = sha256;
    }

    /**
     * The model file's recorded SHA-256: the download must match it, and so must a cached copy. Without one, the
     * SHA-256 the Hub announces for the download is checked, and recorded for later starts.
     */
    public Optional<String> sha256() {
        return Optional.ofNullable(sha256);
    }

    public String id() {
        return id;
    }

    /** Where to download it from, if the preset has a public location. */
    public Optional<String> location() {
        return Optional.ofNullable(location);
    }

    public Normalization normalization() {
        return normalization;
    }

    public String description() {
        return description;
    }

    public static ModelPreset byId(String id) {
        String wanted = id.strip().toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(p -> p.id.equals(wanted)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown model preset '" + id + "'; known: "
                        + Arrays.stream(values()).map(ModelPreset::id).collect(Collectors.joining(", "))));
    }
}
