package dev.sapienseg.lifecycle;

/** Where the pod is in getting its model ready. */
public enum ModelPhase {
    /** Fetching the model into the cache (readiness data carries the progress). */
    DOWNLOADING,
    LOADING,
    READY,
    FAILED,
    /** SIGTERM received: finishing requests in flight, refusing new ones. */
    STOPPING;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
