package dev.sapienseg.failure;

/** A request that cannot be answered with a segmentation; carries the reason and a message meant for the caller. */
public class SegmentationException extends RuntimeException {

    private final FailureReason reason;

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
}
