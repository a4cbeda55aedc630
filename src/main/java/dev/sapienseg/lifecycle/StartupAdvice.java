package dev.sapienseg.lifecycle;

import java.time.Duration;
import java.util.EnumSet;
import java.util.Locale;

import org.jboss.logging.Logger;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputPlan;
import dev.sapienseg.pipeline.Deadlines;
import dev.sapienseg.pipeline.MemoryBound;
import dev.sapienseg.pipeline.SegmentationPipeline;

/**
 * What the start-up log says about the settings once the model is loaded: what the memory budget and the deadlines
 * allow with this model, and loud warnings for limits it cannot meet. It only logs; nothing here changes a setting.
 */
final class StartupAdvice {

    private static final Logger LOG = Logger.getLogger(StartupAdvice.class);

    private StartupAdvice() {
    }

    /** Says at start-up what the memory settings allow, and warns when they cannot be met. */
    static void memory(SapiensConfig.Limits limits, MemoryBound memory) {
        long pixels = limits.maxImagePixels();
        long largest = MemoryBound.estimate(pixels, limits.maxImageBytes().asLongValue(), new OutputPlan(EnumSet.of(
                OutputKind.CLASS_PNG, OutputKind.OVERLAY), null));
        long heap = Runtime.getRuntime().maxMemory();
        LOG.infof("memory: budget %d MB for requests in flight (a picture at the %d-pixel limit with class PNG and overlay"
                + " needs up to %d MB), Java heap up to %d MB", memory.budget() >> 20, pixels, largest >> 20, heap >> 20);
        if (largest > memory.budget()) {
            LOG.warnf("sapiens.limits.memory-budget (%d MB) is below the worst case of one picture at"
                    + " sapiens.limits.max-image-pixels with class PNG and overlay (%d MB): such requests get 413",
                    memory.budget() >> 20, largest >> 20);
        }
        ContainerMemory.limitBytes().ifPresent(limit -> {
            if (memory.budget() > limit) {
                LOG.warnf("sapiens.limits.memory-budget (%d MB) exceeds the container's memory limit (%d MB):"
                        + " lower it, or the pod can be OOM-killed under load", memory.budget() >> 20, limit >> 20);
            }
        });
    }

    /** Says at start-up what waits the model's speed gives, and warns loudly about limits it cannot meet. */
    static void deadlines(SapiensConfig config, SegmentationPipeline built) {
        Deadlines deadlines = built.deadlines();
        if (!deadlines.runs().measured()) {
            LOG.infof("deadlines: no warm-up run (sapiens.execution.warm-up=%s): queue wait %d ms until the first run"
                    + " is measured, then derived from it", config.execution().warmUp().name().toLowerCase(Locale.ROOT),
                    deadlines.queueWait().toMillis());
            deadlines.runs().whenMeasured(() -> deadlines(config, built));
            return;
        }
        LOG.infof("deadlines: one model run takes %d ms (median); queue wait %d ms (%s), Retry-After %d s when busy,"
                + " a run past %d s marks the pod not live", deadlines.runs().median().toMillis(),
                deadlines.queueWait().toMillis(), deadlines.derived() ? "derived from the run time" : "configured",
                deadlines.retryAfterSeconds(), built.watchdog().stallLimit().toSeconds());
        Duration run = deadlines.runs().median();
        if (run.compareTo(built.watchdog().stallLimit()) >= 0) {
            LOG.warnf("sapiens.limits.max-run-time (%d s) is not longer than one model run (%d ms): liveness will"
                    + " restart the pod during normal work; unset it or raise it", built.watchdog().stallLimit().toSeconds(),
                    run.toMillis());
        }
        for (String problem : deadlines.problems()) {
            LOG.warn("LIMITS THIS MODEL CANNOT MEET: " + problem);
        }
    }
}
