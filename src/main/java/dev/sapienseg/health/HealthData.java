package dev.sapienseg.health;

import java.util.Map;

import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;

import dev.sapienseg.lifecycle.ModelPhase;

import dev.sapienseg.lifecycle.SegmentationService;

/** What the readiness and startup checks share: UP once the model is ready, with the service's description. */
final class HealthData {

    private HealthData() {
    }

    static HealthCheckResponse modelReady(String name, SegmentationService service) {
        return withDescription(HealthCheckResponse.named(name), service)
                .status(service.phase() == ModelPhase.READY)
                .build();
    }

    static HealthCheckResponseBuilder withDescription(HealthCheckResponseBuilder builder, SegmentationService service) {
        for (Map.Entry<String, Object> e : service.describe().entrySet()) {
            Object v = e.getValue();
            if (v instanceof Boolean b) {
                builder.withData(e.getKey(), b);
            } else if (v instanceof Number n) {
                builder.withData(e.getKey(), n.longValue());
            } else {
                builder.withData(e.getKey(), String.valueOf(v));
            }
        }
        return builder;
    }
}
