package dev.sapienseg.oip;

import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.event.FailureShape;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.logging.LogSafe;
import io.vertx.core.http.HttpServerResponse;

/**
 * The Open Inference Protocol's error shape, {@code {"error": "<code>: <message>"}}, for every failure under
 * {@value InferenceProtocol#PREFIX}, with the status of the same failure vocabulary as the CloudEvent endpoint.
 */
@ApplicationScoped
public class ProtocolErrors implements FailureShape {

    private final ObjectMapper json;

    public ProtocolErrors(ObjectMapper json) {
        this.json = json;
    }

    @Override
    public boolean owns(String path) {
        return path.equals(InferenceProtocol.PREFIX) || path.startsWith(InferenceProtocol.PREFIX + "/");
    }

    @Override
    public String describe(String path) {
        return "inference request " + LogSafe.of(path, 200);
    }

    @Override
    public void write(HttpServerResponse response, FailureReason reason, String message) {
        try {
            response.putHeader("Content-Type", "application/json")
                    .end(json.writeValueAsString(Map.of("error", reason.code() + ": " + message)));
        } catch (JsonProcessingException e) {
            response.setStatusCode(500).end();
        }
    }
}
