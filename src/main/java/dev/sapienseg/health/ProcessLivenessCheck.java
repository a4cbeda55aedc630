package dev.sapienseg.health;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;

import dev.sapienseg.lifecycle.SegmentationService;

/**
 * Alive unless the pod can no longer serve: native libraries that cannot load, a model run far past its expected time,
 * a session whose runs keep failing ({@link dev.sapienseg.pipeline.RunWatchdog}). A model that is loading or failed to
 * load is a readiness matter: restarting the pod for it would only repeat the load.
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
        String problem = service.livenessProblem();
        var builder = HealthCheckResponse.named("sapiens-process").status(problem == null)
                .withData("phase", service.phase().label());
        if (problem != null) {
            builder.withData("reason", problem);
        }
        return builder.build();
    }
}
