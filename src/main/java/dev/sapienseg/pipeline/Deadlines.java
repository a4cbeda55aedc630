package dev.sapienseg.pipeline;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The waits that depend on the model's speed, derived from its measured run time ({@link RunTimes}): how long an
 * admitted picture may wait for the model to start on it (the queue wait), the Retry-After a refused caller is told,
 * and whether the configured limits can be met at all.
 *
 * <p>The queue wait covers only the wait <em>before</em> the picture's batch starts: a picture whose run has begun is
 * never answered "retry" while its work goes on (a retry would repeat the same run elsewhere, or here); it waits for
 * the run, which the run watchdog bounds (liveness). Unset, the queue wait is derived: the runs that may be ahead of a
 * picture when the pod is full ({@code max-in-flight} pictures, in batches, over the sessions), times the median run
 * and a margin, at least {@link #MIN_QUEUE_WAIT}, and short enough that the wait plus a run still fits the platform's
 * request timeout (Knative's {@code timeoutSeconds}), so that the caller hears our 503 rather than the platform's 504.
 */
public final class Deadlines {

    /** The least derived queue wait: fast models keep the wait they always had, room for a pause or a busy host. */
    public static final Duration MIN_QUEUE_WAIT = Duration.ofSeconds(30);

    /** The derived queue wait is this many times the expected wait of a full pod (noise, a slower picture). */
    public static final double MARGIN = 1.5;

    /** Kept free below the platform's timeout: our answer must arrive before the platform gives up. */
    public static final Duration PLATFORM_SLACK = Duration.ofSeconds(5);

    /**
     * @param queueTimeout the configured queue wait ({@code sapiens.limits.queue-timeout}); empty: derived
     * @param minRetryAfterSeconds the least Retry-After ({@code sapiens.limits.retry-after-seconds})
     * @param requestTimeout the platform's timeout for one request ({@code sapiens.limits.request-timeout}, Knative's
     *        {@code timeoutSeconds})
     * @param maxInFlight requests admitted at once
     * @param batch pictures per run
     * @param sessions runs at once
     * @param maxDelay how long a batch waits for company before it runs
     */
    public record Settings(Optional<Duration> queueTimeout, int minRetryAfterSeconds, Duration requestTimeout,
            int maxInFlight, int batch, int sessions, Duration maxDelay) {

        /** Fixed limits, nothing derived (tests, and callers without a platform timeout). */
        public static Settings fixed(Duration queueTimeout, int maxInFlight) {
            return new Settings(Optional.of(queueTimeout), 2, Duration.ofDays(1), maxInFlight, 1, 1, Duration.ZERO);
        }
    }

    private final Settings settings;
    private final RunTimes runs;

    public Deadlines(Settings settings, RunTimes runs) {
        this.settings = settings;
        this.runs = runs;
    }

    public RunTimes runs() {
        return runs;
    }

    /** Model runs that may be ahead of a picture, its own run's round included, when the pod is full. */
    public int roundsWhenFull() {
        int batches = ceilDiv(Math.max(1, settings.maxInFlight()), Math.max(1, settings.batch()));
        return ceilDiv(batches, Math.max(1, settings.sessions()));
    }

    /** How long an admitted picture may wait for its run to start. */
    public Duration queueWait() {
        if (settings.queueTimeout().isPresent()) {
            return settings.queueTimeout().get();
        }
        if (!runs.measured()) {
            // No run measured yet (no warm-up): as long as the platform allows with room for a run of the same length.
            Duration half = settings.requestTimeout().minus(PLATFORM_SLACK).dividedBy(2);
            return half.compareTo(MIN_QUEUE_WAIT) > 0 ? half : MIN_QUEUE_WAIT;
        }
        Duration run = runs.median();
        Duration full = run.multipliedBy(roundsWhenFull());
        Duration derived = Duration.ofNanos((long) (full.toNanos() * MARGIN)).plus(settings.maxDelay());
        if (derived.compareTo(MIN_QUEUE_WAIT) < 0) {
            derived = MIN_QUEUE_WAIT;
        }
        Duration fits = settings.requestTimeout().minus(run).minus(PLATFORM_SLACK);
        if (derived.compareTo(fits) > 0) {
            derived = fits.compareTo(run) > 0 ? fits : run; // at least one run: below that nothing queued ever runs
        }
        return derived;
    }

    /** Whether the queue wait is derived from the run time (no {@code queue-timeout} configured). */
    public boolean derived() {
        return settings.queueTimeout().isEmpty();
    }

    /** Seconds a refused caller should wait: about one model run, never less than the configured least. */
    public int retryAfterSeconds() {
        long run = ceilDiv(runs.median().toMillis(), 1000);
        return (int) Math.max(settings.minRetryAfterSeconds(), Math.min(run, 3600));
    }

    /** The configured limits this model's speed cannot meet, each with what to change; empty when all fit. */
    public List<String> problems() {
        List<String> problems = new ArrayList<>();
        if (!runs.measured()) {
            return problems; // judged after the first run
        }
        Duration run = runs.median();
        Duration wait = queueWait();
        if (settings.queueTimeout().isPresent() && wait.compareTo(run) < 0) {
            problems.add("sapiens.limits.queue-timeout (" + seconds(wait) + ") is shorter than one model run ("
                    + seconds(run) + "): a request queued behind a running batch gets 503 although the pod works; unset"
                    + " it (derived from the run time) or raise it to at least " + seconds(run.multipliedBy(roundsWhenFull())));
        }
        Duration full = run.multipliedBy(roundsWhenFull());
        if (full.plus(PLATFORM_SLACK).compareTo(settings.requestTimeout()) > 0) {
            int fits = (int) Math.max(0, settings.requestTimeout().minus(PLATFORM_SLACK).toNanos() / Math.max(1, run.toNanos()));
            problems.add("a full pod (" + settings.maxInFlight() + " requests, " + roundsWhenFull()
                    + " model runs of " + seconds(run) + " each) needs " + seconds(full)
                    + ", more than sapiens.limits.request-timeout (" + seconds(settings.requestTimeout())
                    + ", Knative's timeoutSeconds): the platform answers 504 while the pod keeps working; "
                    + (fits >= 1 ? "lower sapiens.limits.max-in-flight and containerConcurrency to "
                            + Math.max(1, fits * settings.batch() * settings.sessions()) + ", or " : "")
                    + "raise timeoutSeconds and sapiens.limits.request-timeout to at least "
                    + seconds(full.plus(PLATFORM_SLACK).plusSeconds(1)));
        } else if (wait.plus(run).compareTo(settings.requestTimeout()) > 0) {
            problems.add("sapiens.limits.queue-timeout (" + seconds(wait) + ") plus one model run (" + seconds(run)
                    + ") exceeds sapiens.limits.request-timeout (" + seconds(settings.requestTimeout())
                    + ", Knative's timeoutSeconds): the platform may answer 504 while the pod keeps working; unset"
                    + " queue-timeout or lower it");
        }
        return problems;
    }

    private static String seconds(Duration d) {
        return String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
