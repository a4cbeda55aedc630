package dev.sapienseg.backfill;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.cloudevents.CloudEvent;
import io.cloudevents.http.HttpMessageFactory;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Posts notifications to the sink as binary-mode CloudEvents, every try paced by the shared {@link RateLimiter}.
 * Retries what a retry can fix (no answer, 408, 429, 5xx), after the sink's Retry-After when it gives one in seconds,
 * else a doubling backoff, never longer than {@code maxRetryAfter}; any other answer is final.
 */
final class NotificationSender {

    /** How a notification ended. */
    enum Outcome {
        /** The sink took it (2xx). */
        SENT,
        /** The sink answered 204: it ignores this notification (e.g. a Trigger's filter). */
        IGNORED,
        /** Refused, or still failing after the last try. */
        FAILED
    }

    /** An {@link Outcome}, with the reason when it {@link Outcome#FAILED}. */
    record Delivery(Outcome outcome, String failure) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Backfill.Settings settings;
    private final RateLimiter rateLimiter;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    NotificationSender(Backfill.Settings settings, RateLimiter rateLimiter) {
        this.settings = settings;
        this.rateLimiter = rateLimiter;
    }

    /** Sends the upload notification for {@code object} (whose unquoted ETag is {@code eTag}). */
    Delivery send(S3Object object, String eTag) {
        CloudEvent event = S3EventNotification.of(settings.bucket(), settings.eventType(), object, eTag);
        Map<String, String> headers = new LinkedHashMap<>();
        byte[][] body = new byte[1][];
        HttpMessageFactory.createWriter(headers::put, bytes -> body[0] = bytes).writeBinary(event);
        HttpRequest.Builder request = HttpRequest.newBuilder(settings.sink()).timeout(Duration.ofMinutes(10))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body[0] == null ? new byte[0] : body[0]));
        headers.forEach((name, value) -> {
            if (!name.equalsIgnoreCase("content-length")) { // restricted: the JDK client sets it and refuses it
                request.header(name, value);
            }
        });
        String why = null;
        for (int attempt = 1; attempt <= settings.attempts(); attempt++) {
            pace();
            Duration wait;
            try {
                HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
                int status = response.statusCode();
                if (status == 204) {
                    return new Delivery(Outcome.IGNORED, null);
                }
                if (status / 100 == 2) {
                    return new Delivery(Outcome.SENT, null);
                }
                why = "HTTP " + status + errorOf(response.body());
                if (status != 408 && status != 429 && status < 500) {
                    break; // permanent: the sink (or the function behind it) refuses this notification
                }
                wait = response.headers().firstValue("Retry-After").flatMap(NotificationSender::seconds)
                        .orElse(backoff(attempt));
            } catch (IOException e) {
                why = "cannot reach " + settings.sink() + ": " + e;
                wait = backoff(attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                why = "interrupted";
                break;
            }
            if (attempt < settings.attempts()) {
                sleep(wait.compareTo(settings.maxRetryAfter()) > 0 ? settings.maxRetryAfter() : wait);
            }
        }
        return new Delivery(Outcome.FAILED, why);
    }

    private void pace() {
        Duration wait = rateLimiter.reserve();
        if (!wait.isNegative() && !wait.isZero()) {
            sleep(wait);
        }
    }

    private static Duration backoff(int attempt) {
        return Duration.ofSeconds(Math.min(30, 1L << Math.min(5, attempt - 1)));
    }

    private static Optional<Duration> seconds(String value) {
        try {
            return Optional.of(Duration.ofSeconds(Math.max(0, Long.parseLong(value.trim()))));
        } catch (NumberFormatException e) {
            return Optional.empty(); // an HTTP date: use the backoff
        }
    }

    /** The function's error answer ({@code {"error": …, "message": …}}) in a line; empty for anything else. */
    private static String errorOf(String body) {
        try {
            JsonNode node = JSON.readTree(body);
            if (node != null && node.hasNonNull("error")) {
                return " " + node.get("error").asText() + (node.hasNonNull("message") ? ": " + node.get("message").asText() : "");
            }
        } catch (IOException | RuntimeException e) {
            // not JSON
        }
        return "";
    }

    /** Returns early when interrupted, the interrupt flag set again for the caller to see. */
    private static void sleep(Duration d) {
        try {
            Thread.sleep(Math.max(0, d.toMillis()), (int) (d.toNanos() % 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
