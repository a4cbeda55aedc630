package dev.sapienseg.failure;

/** A request that cannot be answered with a segmentation; carries the reason and a message meant for the caller. */
public class SegmentationException extends RuntimeException {

    private final FailureReason reason;
    private int retryAfterSeconds;

    public SegmentationException(FailureReason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public SegmentationException(FailureReason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public FailureReason reason() {
        return reason;
    }

    /** Seconds the caller should wait before retrying, when the thrower knows (0: the configured default). */
    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    /** Says how long a retry should wait (the pipeline knows the model's pace); returns this exception. */
    public SegmentationException retryAfter(int seconds) {
        this.retryAfterSeconds = seconds;
        return this;
    }
}
