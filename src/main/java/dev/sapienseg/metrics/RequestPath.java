package dev.sapienseg.metrics;

/** Which adapter a picture came through: the {@code path} tag of {@code sapiens_images_processed_total}. */
public enum RequestPath {
    /** An image CloudEvent answered in the reply. */
    EVENT,
    /** A storage notification, results written to the bucket. */
    STORAGE,
    /** The Open Inference Protocol. */
    INFERENCE;

    String tag() {
        return MetricTags.of(this);
    }
}
