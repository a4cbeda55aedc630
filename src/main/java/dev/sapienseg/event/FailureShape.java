package dev.sapienseg.event;

import dev.sapienseg.failure.FailureReason;
import io.vertx.core.http.HttpServerResponse;

/**
 * An HTTP surface besides the CloudEvent endpoint that answers its failures in its own shape (the Open Inference
 * Protocol's {@code {"error": …}}). {@link FailureReplies} does what every failure needs — the reason and status, the
 * error id, Retry-After, the log line and the metric — and hands the body to the surface that owns the path.
 * Implementations are CDI beans.
 */
public interface FailureShape {

    /** True for the paths this surface serves. */
    boolean owns(String path);

    /** How the log names a failed request to {@code path}. */
    String describe(String path);

    /** Writes the body and ends {@code response}; status and headers are set already. */
    void write(HttpServerResponse response, FailureReason reason, String message);
}
