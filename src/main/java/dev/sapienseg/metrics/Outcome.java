package dev.sapienseg.metrics;

/** How a request was answered: the {@code outcome} tag of {@code sapiens_requests_total}. */
enum Outcome {
    OK,
    /** A permanent failure (4xx) or an internal error. */
    FAILED,
    /** A retryable refusal (429/503): busy, not ready, storage unavailable. */
    REJECTED,
    /** Nothing to do (204): a notification for our own outputs, say. */
    IGNORED;

    String tag() {
        return MetricTags.of(this);
    }
}
