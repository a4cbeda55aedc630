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
    HF_0_3B("hf-0.3b", "hf://onnx-community/sapiens-seg-0.3b/onnx/model.onnx", Normalization.IMAGENET, "0.3b fp32, 1.4 GB"),
    HF_0_3B_FP16("hf-0.3b-fp16", "hf://onnx-community/sapiens-seg-0.3b/onnx/model_fp16.onnx", Normalization.IMAGENET,
            "0.3b fp16, 0.7 GB"),
    HF_0_6B("hf-0.6b", "hf://onnx-community/sapiens-seg-0.6b/onnx/model.onnx", Normalization.IMAGENET,
            "0.6b fp32, 2.7 GB with external data"),
    HF_0_6B_FP16("hf-0.6b-fp16", "hf://onnx-community/sapiens-seg-0.6b/onnx/model_fp16.onnx", Normalization.IMAGENET,
            "0.6b fp16, 1.3 GB"),
    LITE_0_3B("lite-0.3b", null, Normalization.LITE, "0.3b exported from TorchScript, fp32"),
    LITE_0_3B_FP16("lite-0.3b-fp16", null, Normalization.LITE, "0.3b exported from TorchScript, fp16"),
    LITE_0_6B("lite-0.6b", null, Normalization.LITE, "0.6b exported from TorchScript, fp32"),
    LITE_0_6B_FP16("lite-0.6b-fp16", null, Normalization.LITE, "0.6b exported from TorchScript, fp16"),
    LITE_1B("lite-1b", null, Normalization.LITE, "1b exported from TorchScript, fp32, 4.7 GB with external data"),
    LITE_1B_FP16("lite-1b-fp16", null, Normalization.LITE, "1b exported from TorchScript, fp16, 2.4 GB");

    private final String id;
    private final String location;
    private final Normalization normalization;
    private final String description;

    ModelPreset(String id, String location, Normalization normalization, String description) {
        this.id = id;
        this.location = location;
        this.normalization = normalization;
        this.description = description;
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
