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
            Normalization.IMAGENET, "0.3b fp32", 1_360),
    HF_0_3B_FP16("hf-0.3b-fp16", "hf://onnx-community/sapiens-seg-0.3b@" + Revisions.SEG_0_3B + "/onnx/model_fp16.onnx",
            Normalization.IMAGENET, "0.3b fp16", 680),
    HF_0_3B_INT8("hf-0.3b-int8", "hf://onnx-community/sapiens-seg-0.3b@" + Revisions.SEG_0_3B + "/onnx/model_int8.onnx",
            Normalization.IMAGENET, "0.3b dynamic int8", 445, null, Runs.CPU_ONLY, Licence.SAPIENS),
    HF_0_3B_UINT8("hf-0.3b-uint8", "hf://onnx-community/sapiens-seg-0.3b@" + Revisions.SEG_0_3B + "/onnx/model_uint8.onnx",
            Normalization.IMAGENET, "0.3b dynamic uint8", 445, null, Runs.CPU_ONLY, Licence.SAPIENS),
    HF_0_3B_Q4("hf-0.3b-q4", "hf://onnx-community/sapiens-seg-0.3b@" + Revisions.SEG_0_3B + "/onnx/model_q4.onnx",
            Normalization.IMAGENET, "0.3b 4-bit weights (MatMulNBits), fp32 activations", 339,
            "a04b8a7c811132672312ad298b5d4b412e200d6089d613ef78f94fc3619b2a93", Runs.CPU_AND_CUDA, Licence.SAPIENS),
    HF_0_3B_Q4F16("hf-0.3b-q4f16", "hf://onnx-community/sapiens-seg-0.3b@" + Revisions.SEG_0_3B + "/onnx/model_q4f16.onnx",
            Normalization.IMAGENET, "0.3b 4-bit weights (MatMulNBits), fp16 activations", 245, null,
            Runs.CPU_AND_CUDA, Licence.SAPIENS),
    HF_0_6B("hf-0.6b", "hf://onnx-community/sapiens-seg-0.6b/onnx/model.onnx", Normalization.IMAGENET,
            "0.6b fp32 with external data", 2_680),
    HF_0_6B_FP16("hf-0.6b-fp16", "hf://onnx-community/sapiens-seg-0.6b/onnx/model_fp16.onnx", Normalization.IMAGENET,
            "0.6b fp16", 1_340, "cfdbe895c5c7fddc58c3125c6726a2229a1127345812c520cb39bf5982247895", Runs.CPU_AND_CUDA,
            Licence.SAPIENS),
    HF_0_6B_INT8("hf-0.6b-int8", "hf://onnx-community/sapiens-seg-0.6b/onnx/model_int8.onnx", Normalization.IMAGENET,
            "0.6b dynamic int8", 789, "2f6810339aa9e07ef8666767d7c00797b47f88d891c79c7c558ff705f0dd92cc",
            Runs.CPU_ONLY, Licence.SAPIENS),
    HF_0_6B_UINT8("hf-0.6b-uint8", "hf://onnx-community/sapiens-seg-0.6b/onnx/model_uint8.onnx", Normalization.IMAGENET,
            "0.6b dynamic uint8", 789, null, Runs.CPU_ONLY, Licence.SAPIENS),
    HF_0_6B_Q4("hf-0.6b-q4", "hf://onnx-community/sapiens-seg-0.6b/onnx/model_q4.onnx", Normalization.IMAGENET,
            "0.6b 4-bit weights (MatMulNBits), fp32 activations", 561,
            "85020d13079f1b955d14008211c136452b88078a96d6823ba7c2a384f0c6a213", Runs.CPU_AND_CUDA, Licence.SAPIENS),
    HF_0_6B_Q4F16("hf-0.6b-q4f16", "hf://onnx-community/sapiens-seg-0.6b/onnx/model_q4f16.onnx", Normalization.IMAGENET,
            "0.6b 4-bit weights (MatMulNBits), fp16 activations", 438,
            "ca86a2ced4b634d14d875a0d829d1b5b1ba034e56ad06a3717d9bf84696de089", Runs.CPU_AND_CUDA, Licence.SAPIENS),
    LITE_0_3B("lite-0.3b", null, Normalization.LITE, "0.3b exported from TorchScript, fp32", 1_360),
    LITE_0_3B_FP16("lite-0.3b-fp16", null, Normalization.LITE, "0.3b exported from TorchScript, fp16", 680),
    LITE_0_6B("lite-0.6b", null, Normalization.LITE, "0.6b exported from TorchScript, fp32", 2_680),
    LITE_0_6B_FP16("lite-0.6b-fp16", null, Normalization.LITE, "0.6b exported from TorchScript, fp16", 1_340),
    LITE_1B("lite-1b", null, Normalization.LITE, "1b exported from TorchScript, fp32 with external data", 4_710),
    LITE_1B_FP16("lite-1b-fp16", null, Normalization.LITE, "1b exported from TorchScript, fp16", 2_400),
    /** sapiens-seg-foreground-1b: one sigmoid channel (foreground &gt; 0.3), the foreground family. */
    LITE_FOREGROUND_1B("lite-foreground-1b", null, Normalization.LITE,
            "foreground 1b exported from TorchScript, fp32 with external data", 4_700),
    // Sapiens2 (29 classes at full resolution): a public export of facebook/sapiens2-seg-*, each a small .onnx graph
    // with a .onnx.data file of weights beside it (downloaded with it), pinned to the repository's first commit.
    HF2_0_4B_FP16("hf2-0.4b-fp16", Revisions.SAPIENS2_ONNX + "/seg/seg_0.4b_fp16.onnx", Normalization.IMAGENET,
            "Sapiens2 0.4b fp16 with external data", 777, null, Runs.CPU_AND_CUDA, Licence.SAPIENS2),
    HF2_0_8B("hf2-0.8b", Revisions.SAPIENS2_ONNX + "/seg/seg_0.8b_fp32.onnx", Normalization.IMAGENET,
            "Sapiens2 0.8b fp32 with external data", 3_300, null, Runs.CPU_AND_CUDA, Licence.SAPIENS2),
    HF2_1B("hf2-1b", Revisions.SAPIENS2_ONNX + "/seg/seg_1b_fp32.onnx", Normalization.IMAGENET,
            "Sapiens2 1b fp32 with external data", 5_900, null, Runs.CPU_AND_CUDA, Licence.SAPIENS2),
    HF2_5B_INT8("hf2-5b-int8", Revisions.SAPIENS2_ONNX + "/seg/seg_5b_int8.onnx", Normalization.IMAGENET,
            "Sapiens2 5b int8 with external data", 5_200, null, Runs.CPU_ONLY, Licence.SAPIENS2);

    /** Which execution providers can run a preset's file. */
    public enum Runs {
        CPU_AND_CUDA,
        /**
         * Dynamic int8/uint8 quantization: ONNX Runtime has no CUDA kernel for its DynamicQuantizeLinear. It also
         * takes one activation scale per run, so a picture's result would depend on the pictures
         * batched with it: such presets run one picture per model run.
         */
        CPU_ONLY
    }

    /** The licence of a preset's weights: the terms its user accepts. */
    public enum Licence {
        SAPIENS("CC BY-NC 4.0 (Sapiens v1 weights: non-commercial use)",
                "https://github.com/facebookresearch/sapiens/blob/main/LICENSE"),
        SAPIENS2("Sapiens2 License (use restrictions: no surveillance, biometric processing, re-identification,"
                + " deepfakes or inferring sensitive information; see the link)",
                "https://github.com/facebookresearch/sapiens2/blob/main/LICENSE.md");

        private final String summary;
        private final String url;

        Licence(String summary, String url) {
            this.summary = summary;
            this.url = url;
        }

        public String summary() {
            return summary;
        }

        public String url() {
            return url;
        }
    }

    /**
     * Hugging Face commits the presets are pinned to, where a full commit hash could be confirmed: onnx-community's
     * sapiens-seg-0.3b commit "Upload folder using huggingface_hub" (2024-08-26), the one that added {@code onnx/}.
     * sapiens-seg-0.6b follows {@code main} (no full commit hash could be confirmed; pin one with
     * {@code sapiens.model.uri=hf://onnx-community/sapiens-seg-0.6b@<commit>/onnx/model.onnx}).
     */
    static final class Revisions {
        static final String SEG_0_3B = "9f6f12fb68dfa251f579a9b7cfa8072d4cab58a9";
        /** WeReCooking/sapiens2-onnx's "Initial commit", which added the seg/ files. */
        static final String SAPIENS2_ONNX = "hf://WeReCooking/sapiens2-onnx@2d6b460e42ddb77c9694ca7787e9ca35e00cb9ce";

        private Revisions() {
        }
    }

    private final String id;
    private final String location;
    private final Normalization normalization;
    private final String description;
    private final long megabytes;
    private final String sha256;
    private final Runs runs;
    private final Licence licence;

    ModelPreset(String id, String location, Normalization normalization, String description, long megabytes) {
        this(id, location, normalization, description, megabytes, null, Runs.CPU_AND_CUDA, Licence.SAPIENS);
    }

    /** @param sha256 the model file's SHA-256 as its publisher lists it (the Hub's LFS object id), where known */
    ModelPreset(String id, String location, Normalization normalization, String description, long megabytes,
            String sha256, Runs runs, Licence licence) {
        this.id = id;
        this.location = location;
        this.normalization = normalization;
        this.description = description;
        this.megabytes = megabytes;
        this.sha256 = sha256;
        this.runs = runs;
        this.licence = licence;
    }

    public Runs runs() {
        return runs;
    }

    public Licence licence() {
        return licence;
    }

    /** Pictures per model run at most: 1 for dynamic quantization (see {@link Runs#CPU_ONLY}), else no limit. */
    public int maxBatch() {
        return runs == Runs.CPU_ONLY ? 1 : Integer.MAX_VALUE;
    }

    /**
     * Why this preset cannot run on {@code provider}, or empty.
     */
    public Optional<String> refusal(dev.sapienseg.model.ExecutionProvider provider) {
        if (provider.gpu() && runs == Runs.CPU_ONLY) {
            String source = id.substring(0, id.indexOf('-') + 1);
            return Optional.of("preset " + id + " (" + description + ") runs on the CPU only: its dynamic quantization"
                    + " (DynamicQuantizeLinear) has no CUDA kernel in ONNX Runtime. On GPUs use "
                    + Arrays.stream(values()).filter(p -> p.runs == Runs.CPU_AND_CUDA && p.location != null
                            && p.id.startsWith(source)).map(ModelPreset::id).collect(Collectors.joining(", "))
                    + "; or set sapiens.execution.provider=cpu");
        }
        return Optional.empty();
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

    /** What the file is, with its size: {@code 0.3b fp32, 1.36 GB}. */
    public String description() {
        return description + ", " + (megabytes < 1000 ? megabytes + " MB"
                : java.math.BigDecimal.valueOf(megabytes, 3).stripTrailingZeros().toPlainString() + " GB");
    }

    /**
     * What the preset's file weighs with its external data, as its publisher lists it (for {@code lite-*}: the export
     * tool's file, given by path or URI). Sizes start-up windows for the largest download a pod can be given.
     */
    public long downloadBytes() {
        return megabytes * 1_000_000L;
    }

    public static ModelPreset byId(String id) {
        String wanted = id.strip().toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(p -> p.id.equals(wanted)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown model preset '" + id + "'; known: "
                        + Arrays.stream(values()).map(ModelPreset::id).collect(Collectors.joining(", "))));
    }
}
