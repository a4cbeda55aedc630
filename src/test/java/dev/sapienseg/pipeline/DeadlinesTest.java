package dev.sapienseg.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

/** The waits derived from the model's run time: the arithmetic, at the speeds of real models. */
class DeadlinesTest {

    private static Deadlines deadlines(Optional<Duration> queueTimeout, Duration run, int maxInFlight, int batch,
            int sessions, Duration requestTimeout) {
        return new Deadlines(new Deadlines.Settings(queueTimeout, 2, requestTimeout, maxInFlight, batch, sessions,
                Duration.ofMillis(5)), new RunTimes(run));
    }

    @Test
    void aFastModelKeepsTheUsualWait() {
        Deadlines gpu = deadlines(Optional.empty(), Duration.ofMillis(40), 16, 8, 1, Duration.ofSeconds(300));
        assertEquals(Deadlines.MIN_QUEUE_WAIT, gpu.queueWait());
        assertEquals(2, gpu.retryAfterSeconds(), "the configured least");
        assertEquals(List.of(), gpu.problems());
    }

    @Test
    void aSlowModelGetsAWaitThatCoversTheRunsAheadOfIt() {
        // 0.3b on a 2-core CPU: 76 s per picture; two requests in flight, one session, no batching.
        Deadlines cpu = deadlines(Optional.empty(), Duration.ofSeconds(76), 2, 1, 1, Duration.ofSeconds(600));
        assertEquals(2, cpu.roundsWhenFull());
        assertEquals(Duration.ofSeconds(228).plusMillis(5), cpu.queueWait(), "2 runs x 1.5 + max-delay");
        assertEquals(76, cpu.retryAfterSeconds(), "about one run");
        assertEquals(List.of(), cpu.problems());
    }

    @Test
    void theDerivedWaitLeavesRoomForTheRunWithinThePlatformTimeout() {
        Deadlines cpu = deadlines(Optional.empty(), Duration.ofSeconds(76), 2, 1, 1, Duration.ofSeconds(300));
        assertEquals(Duration.ofSeconds(300 - 76 - 5), cpu.queueWait());
        assertEquals(List.of(), cpu.problems(), "2 runs fit in 300 s");
    }

    @Test
    void aFullPodThatCannotFinishWithinThePlatformTimeoutIsReported() {
        Deadlines cpu = deadlines(Optional.empty(), Duration.ofSeconds(76), 4, 1, 1, Duration.ofSeconds(300));
        List<String> problems = cpu.problems();
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).contains("lower sapiens.limits.max-in-flight and containerConcurrency to 3"),
                problems.get(0));
        assertTrue(problems.get(0).contains("at least 310.0 s"), problems.get(0));
    }

    @Test
    void aConfiguredQueueTimeoutShorterThanOneRunIsReported() {
        Deadlines cpu = deadlines(Optional.of(Duration.ofSeconds(30)), Duration.ofSeconds(76), 2, 1, 1,
                Duration.ofSeconds(300));
        assertEquals(Duration.ofSeconds(30), cpu.queueWait(), "configured values are kept");
        List<String> problems = cpu.problems();
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).startsWith("sapiens.limits.queue-timeout (30.0 s) is shorter than one model run (76.0 s)"),
                problems.get(0));
    }

    @Test
    void batchesAndSessionsShortenTheLine() {
        assertEquals(2, deadlines(Optional.empty(), Duration.ofMillis(100), 16, 8, 1, Duration.ofSeconds(300)).roundsWhenFull());
        assertEquals(1, deadlines(Optional.empty(), Duration.ofMillis(100), 16, 8, 2, Duration.ofSeconds(300)).roundsWhenFull());
        assertEquals(3, deadlines(Optional.empty(), Duration.ofMillis(100), 5, 1, 2, Duration.ofSeconds(300)).roundsWhenFull());
    }

    @Test
    void beforeAnyRunIsMeasuredTheWaitIsHalfThePlatformTimeout() {
        // A model served without warm-up: nothing to judge by until its first run.
        Deadlines cold = deadlines(Optional.empty(), Duration.ZERO, 2, 1, 1, Duration.ofSeconds(305));
        assertEquals(Duration.ofSeconds(150), cold.queueWait());
        assertEquals(2, cold.retryAfterSeconds());
        assertEquals(List.of(), cold.problems());
        cold.runs().record(Duration.ofSeconds(76).toNanos());
        assertEquals(Duration.ofSeconds(305 - 76 - 5), cold.queueWait(), "derived once a run is measured");
    }

    @Test
    void theRunTimeIsTheMedianOfRecentRuns() {
        RunTimes runs = new RunTimes(Duration.ofSeconds(90)); // a slow warm-up
        runs.record(Duration.ofSeconds(70).toNanos());
        assertEquals(Duration.ofSeconds(80), runs.median());
        runs.record(Duration.ofSeconds(72).toNanos());
        assertEquals(Duration.ofSeconds(72), runs.median(), "one slow run does not set the pace");
        for (int i = 0; i < RunTimes.WINDOW; i++) {
            runs.record(Duration.ofSeconds(10).toNanos());
        }
        assertEquals(Duration.ofSeconds(10), runs.median(), "the window forgets old runs");
    }
}
