package dev.sapienseg.metrics;

/** An object-storage call, timed as the {@code storage-read} / {@code storage-write} stage. */
public enum StorageCall {
    READ,
    /** Writes and deletes. */
    WRITE;

    String tag() {
        return MetricTags.of(this);
    }
}
