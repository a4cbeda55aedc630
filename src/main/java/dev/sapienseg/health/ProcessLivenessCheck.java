package dev.sapienseg.health;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;

import dev.sapienseg.service.SegmentationService;

/**
 * Alive unless the process itself is broken (native libraries that cannot load). A model that is loading or failed
 * is a readiness matter: restarting the pod for it would only repeat the load.
 */
@Liveness
@ApplicationScoped
public class ProcessLivenessCheck implements HealthCheck {

    private final SegmentationService service;

    public ProcessLivenessCheck(SegmentationService service) {
        this.service = service;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("sapiens-process")
                .status(!service.broken())
                .withData("phase", service.phase().label())
                .build();
    }
}
