package dev.sapienseg.service;

/** Where the pod is in getting its model ready. */
public enum ModelPhase {
    LOADING,
    READY,
    FAILED;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
