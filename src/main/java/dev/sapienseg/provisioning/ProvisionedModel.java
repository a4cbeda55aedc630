package dev.sapienseg.provisioning;

import java.nio.file.Path;

import dev.sapienseg.model.ModelIdentity;

/** A model file ready to load (its external-data files beside it), and which bytes and revision it is. */
public record ProvisionedModel(Path file, ModelIdentity identity) {
}
