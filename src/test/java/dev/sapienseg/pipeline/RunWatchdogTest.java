package dev.sapienseg.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

class RunWatchdogTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final RunWatchdog watchdog = new RunWatchdog(2, Duration.ofSeconds(60), now::get);

    @Test
    void aRunPastItsLimitMakesThePodNotLive() {
        watchdog.started(1);
        now.addAndGet(Duration.ofSeconds(59).toNanos());
        assertNull(watchdog.problem());
        now.addAndGet(Duration.ofSeconds(2).toNanos());
        String problem = watchdog.problem();
        assertNotNull(problem);
        assertTrue(problem.contains("session 1") && problem.contains("61 s"), problem);
        watchdog.finished(1, null);
        assertNull(watchdog.problem(), "a run that ends clears it");
    }

    @Test
    void consecutiveFailuresMarkTheSessionBrokenAndASuccessClearsThem() {
        for (int i = 0; i < RunWatchdog.BROKEN_AFTER_FAILURES - 1; i++) {
            watchdog.started(0);
            watchdog.finished(0, new IllegalStateException("CUDA failure 700: illegal memory access"));
        }
        assertNull(watchdog.problem());
        watchdog.started(0);
        watchdog.finished(0, new IllegalStateException("CUDA failure 700: illegal memory access"));
        assertTrue(watchdog.problem().contains("3 model runs in a row failed"), watchdog.problem());
        watchdog.started(0);
        watchdog.finished(0, null);
        assertNull(watchdog.problem());
    }

    @Test
    void theLimitFollowsTheWarmUpRunWithAFloor() {
        assertEquals(Duration.ofSeconds(60), RunWatchdog.stallLimitFor(40));
        assertEquals(Duration.ofSeconds(86 * 20), RunWatchdog.stallLimitFor(86_000));
    }
}
