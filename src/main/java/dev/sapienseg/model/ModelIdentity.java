package dev.sapienseg.model;

import java.util.Optional;

/**
 * Which bytes are being served: the SHA-256 of the ONNX file (verified against what was recorded at download, and
 * against the preset or {@code sapiens.model.sha256} when they name one) and the source revision when one is pinned
 * (a Hugging Face commit). Replies, health data and metrics carry it, so a result can be traced to its model.
 *
 * @param sha256 lower-case hex, or null where nothing was hashed (models loaded directly in tests)
 * @param revision the pinned source revision, or null (a branch such as {@code main} is not a revision)
 */
public record ModelIdentity(String sha256, String revision) {

    public static final ModelIdentity UNKNOWN = new ModelIdentity(null, null);

    public Optional<String> sha256Value() {
        return Optional.ofNullable(sha256);
    }

    public Optional<String> revisionValue() {
        return Optional.ofNullable(revision);
    }
}
