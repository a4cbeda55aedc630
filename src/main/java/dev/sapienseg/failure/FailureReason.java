package dev.sapienseg.failure;

/**
 * Why a request did not produce a segmentation, with the HTTP status that tells Knative Eventing whether to
 * redeliver. Knative retries 5xx, 404, 408, 409 and 429 and never 400, 413, 415 or 422: permanent problems with
 * the input must use the latter, transient conditions of the pod the former.
 */
public enum FailureReason {
    MALFORMED_EVENT(400, false),
    UNSUPPORTED_EVENT_TYPE(400, false),
    EMPTY_IMAGE(400, false),
    BAD_OPTION(400, false),
    /** An Open Inference Protocol request whose tensors do not fit the model's (name, datatype, shape, count). */
    BAD_TENSOR(400, false),
    UNSAFE_KEY(400, false),
    BUCKET_NOT_ALLOWED(403, false),
    STORAGE_ACCESS_DENIED(403, false),
    IMAGE_TOO_LARGE(413, false),
    TOO_MANY_PIXELS(413, false),
    /** A notification naming more objects than sapiens.storage.max-records. */
    TOO_MANY_RECORDS(413, false),
    UNSUPPORTED_FORMAT(415, false),
    CORRUPT_IMAGE(422, false),
    /**
     * A picture whose structure is beyond what the pod decodes within its bounds: too many scans or directories, a
     * decode past its time budget, an allocation the picture's own size cannot explain. Retrying changes nothing.
     */
    IMAGE_TOO_COMPLEX(422, false),
    /** A storage webhook call without the configured shared secret. */
    UNAUTHORIZED(401, false),
    /** An Open Inference Protocol path naming a model or version this pod does not serve (direct HTTP, no retries). */
    UNKNOWN_MODEL(404, false),
    /** Not 404: Knative retries 404, and a missing object stays missing. */
    OBJECT_NOT_FOUND(422, false),
    OVERLOADED(429, true),
    NOT_READY(503, true),
    QUEUE_TIMEOUT(503, true),
    STORAGE_UNAVAILABLE(503, true),
    INTERNAL_ERROR(500, true);

    private final int httpStatus;
    private final boolean retryable;

    FailureReason(int httpStatus, boolean retryable) {
        this.httpStatus = httpStatus;
        this.retryable = retryable;
    }

    public int httpStatus() {
        return httpStatus;
    }

    public boolean retryable() {
        return retryable;
    }

    /** Stable machine-readable code, e.g. {@code too-many-pixels}. */
    public String code() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
