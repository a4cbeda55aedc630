package dev.sapienseg.health;

import java.util.Map;

import org.eclipse.microprofile.health.HealthCheckResponseBuilder;

import dev.sapienseg.service.SegmentationService;

final class HealthData {

    private HealthData() {
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
