package dev.sapienseg.model;

/** Where inference runs. */
public enum ExecutionProvider {
    CPU,
    CUDA;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
