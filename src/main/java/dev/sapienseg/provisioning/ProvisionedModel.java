package dev.sapienseg.provisioning;

import java.nio.file.Path;

import dev.sapienseg.model.ModelIdentity;

/**
 * A model file ready to load (its external-data files beside it), and which bytes and revision it is.
 *
 * @param file the file to load: the published one, or its faster form
 * @param identity the published file's SHA-256 and revision (a faster form is derived from exactly those bytes)
 * @param published the published file, loaded instead when its faster form does not load
 */
public record ProvisionedModel(Path file, ModelIdentity identity, Path published) {

    /** A file served as it is. */
    public ProvisionedModel(Path file, ModelIdentity identity) {
        this(file, identity, file);
    }

    /** Whether {@link #file()} is a faster form written from {@link #published()}. */
    public boolean rewritten() {
        return !file.equals(published);
    }
}
