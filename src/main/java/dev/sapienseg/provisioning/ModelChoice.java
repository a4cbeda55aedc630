package dev.sapienseg.provisioning;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

import dev.sapienseg.model.ModelLoadException;
import dev.sapienseg.model.Normalization;

/**
 * Which model to serve and how to normalise its input, from the settings (server) or options (batch command).
 * Precedence: an explicit path or URI (not both), else the preset's download location, else the demo model; the
 * normalisation given explicitly, else the preset's, else the model family's ({@link #normalizationFor}; Sapiens-Lite's
 * for Sapiens v1).
 *
 * @param normalization the normalisation given or the preset's; Sapiens-Lite's when neither says
 * @param normalizationGiven whether the settings or the preset chose it (else the model's family decides)
 */
public record ModelChoice(ModelSource source, Normalization normalization, boolean normalizationGiven,
        Optional<ModelPreset> preset, Optional<String> sha256, boolean demo) {

    /** The normalisation for a model of {@code family}: the one given (or the preset's), else the family's own. */
    public Normalization normalizationFor(dev.sapienseg.model.ModelFamily family) {
        return normalizationGiven ? normalization : family.defaultNormalization();
    }

    /** How the settings are named where they are given, for messages that say what to set. */
    public record Names(String location, String preset) {
        public static final Names SERVER = new Names("SAPIENS_MODEL_PATH (a file) or SAPIENS_MODEL_URI", "SAPIENS_MODEL_PRESET");
        public static final Names COMMAND = new Names("--model", "--preset");
    }

    public static ModelChoice resolve(Optional<String> path, Optional<String> uri, Optional<String> presetId,
            Optional<Normalization> normalization, Optional<String> sha256, Optional<String> demoPath)
            throws ModelLoadException {
        return resolve(path, uri, presetId, normalization, sha256, demoPath, Names.SERVER);
    }

    /**
     * The model the settings choose: a path or a URI, else a preset's location, else the demo. Blank settings are
     * already empty here ({@code config.BlankIsUnset}).
     */
    public static ModelChoice resolve(Optional<String> path, Optional<String> uri, Optional<String> presetId,
            Optional<Normalization> normalization, Optional<String> sha256, Optional<String> demoPath, Names names)
            throws ModelLoadException {
        if (path.isPresent() && uri.isPresent()) {
            throw new ModelLoadException("both sapiens.model.path (" + path.get() + ") and sapiens.model.uri ("
                    + uri.get() + ") are set; set one");
        }
        Optional<ModelPreset> preset;
        try {
            preset = presetId.map(ModelPreset::byId);
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(e.getMessage());
        }
        Optional<String> location = path.or(() -> uri);
        boolean demo = false;
        Optional<String> recordedSha256 = Optional.empty();
        if (location.isEmpty() && preset.isPresent()) {
            location = preset.get().location();
            recordedSha256 = preset.get().sha256();
            if (location.isEmpty()) {
                throw new ModelLoadException("preset " + preset.get().id() + " (" + preset.get().description()
                        + ") has no download location: set " + names.location() + " to the file made by "
                        + "deploy/export/sapiens_export.py");
            }
        }
        if (location.isEmpty()) {
            location = demoPath;
            demo = location.isPresent();
        }
        if (location.isEmpty()) {
            throw new ModelLoadException("no model configured: set " + names.location()
                    + " (https://, s3://, hf://owner/repo/file) or " + names.preset() + " (one of "
                    + Arrays.stream(ModelPreset.values()).map(ModelPreset::id).collect(Collectors.joining(", ")) + ")");
        }
        ModelSource source;
        try {
            source = ModelSource.parse(location.get());
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(e.getMessage());
        }
        Optional<Normalization> given = normalization.or(() -> preset.map(ModelPreset::normalization));
        return new ModelChoice(source, given.orElse(Normalization.LITE), given.isPresent(), preset,
                sha256.isPresent() ? sha256 : recordedSha256, demo);
    }

    /**
     * The model's name as configured, known before anything loads: the preset's id when the preset gave the location,
     * else the model file's name without {@code .onnx}.
     */
    public String name() {
        if (preset.isPresent() && preset.get().location().map(ModelSource::parse).filter(source::equals).isPresent()) {
            return preset.get().id();
        }
        String file = source.fileName();
        return file.endsWith(".onnx") ? file.substring(0, file.length() - ".onnx".length()) : file;
    }

    public boolean remote() {
        return !(source instanceof ModelSource.LocalFile);
    }
}
