package dev.sapienseg.health;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Startup;

import dev.sapienseg.lifecycle.SegmentationService;

/**
 * Started once the model is ready. A startup probe on it gives model loading its own, long budget; a model that
 * failed to load keeps it DOWN, so the kubelet restarts the container (which retries a download, for instance).
 */
@Startup
@ApplicationScoped
public class ModelStartupCheck implements HealthCheck {

    private final SegmentationService service;

    public ModelStartupCheck(SegmentationService service) {
        this.service = service;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthData.modelReady("sapiens-model-started", service);
    }
}
