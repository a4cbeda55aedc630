package dev.sapienseg.health;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

import dev.sapienseg.lifecycle.SegmentationService;

/** Ready only once the model is loaded and warmed up; the data says the phase and, if it failed, why. */
@Readiness
@ApplicationScoped
public class ModelReadinessCheck implements HealthCheck {

    private final SegmentationService service;

    public ModelReadinessCheck(SegmentationService service) {
        this.service = service;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthData.modelReady("sapiens-model", service);
    }
}
