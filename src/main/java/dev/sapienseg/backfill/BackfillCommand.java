package dev.sapienseg.backfill;

import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.SmallRyeConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.config.StandaloneConfig;

/**
 * {@code backfill}: storage triggers fire only for new uploads; this sends one storage notification per existing
 * picture under a bucket prefix to the Broker (or the function), so that Knative's autoscaler spreads a whole photo
 * library over the pods. Exit status: 0 every picture sent or already complete, 1 some could not be sent (listed),
 * 2 the run could not start.
 */
@Command(name = "backfill", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Sends one S3 event notification (a CloudEvent of type com.amazonaws.s3.ObjectCreated:Put) per "
                + "picture under a bucket prefix to a Knative Broker or the function, bounded in rate and concurrency; "
                + "skips pictures whose results are complete.")
public final class BackfillCommand implements Callable<Integer> {

    static final int FAILURES = 1;
    static final int CANNOT_RUN = 2;

    @Option(names = "--bucket", required = true, description = "The bucket holding the pictures.")
    String bucket;

    @Option(names = "--prefix", defaultValue = "", description = "Only keys under this prefix. Default: the whole bucket.")
    String prefix;

    @Option(names = "--sink", description = "Where the notifications go: the Broker's URL (e.g. "
            + "http://broker-ingress.knative-eventing.svc.cluster.local/sapiens/default) or the function's. Required "
            + "unless --sweep-orphans is given alone.")
    URI sink;

    @Option(names = "--sweep-orphans", paramLabel = "AGE", description = "First remove what storage attempts killed "
            + "before their summary left: under the output prefix, every output name without a summary whose newest "
            + "object is older than AGE (e.g. 1h; more than the function's request timeout). With --dry-run, only "
            + "count them. Without --sink, sweep only.")
    String sweepAge;

    @Option(names = "--rate", defaultValue = "20", description = "Notifications per second at most. Default: ${DEFAULT-VALUE}.")
    double rate;

    @Option(names = "--concurrency", defaultValue = "8", description = "Notifications (and completeness checks) in "
            + "flight at once. Default: ${DEFAULT-VALUE}.")
    int concurrency;

    @Option(names = "--state", description = "A file recording every key sent or found complete, one per line: a "
            + "rerun skips them without asking the store (put it on a volume that survives the Job's pod).")
    Path state;

    @Option(names = "--force", description = "Send every picture, even those whose results are complete (the function "
            + "still reuses results that are valid for the model it serves).")
    boolean force;

    @Option(names = "--dry-run", description = "List and check, but send nothing.")
    boolean dryRun;

    @Option(names = "--limit", defaultValue = "0", description = "Stop after this many notifications (0: no limit).")
    long limit;

    @Option(names = "--attempts", defaultValue = "5", description = "Tries per notification when the sink answers "
            + "429/5xx or cannot be reached (honouring Retry-After). Default: ${DEFAULT-VALUE}.")
    int attempts;

    @Option(names = "--event-type", defaultValue = "com.amazonaws.s3.ObjectCreated:Put", description = "The CloudEvent "
            + "type (a Trigger must route it to the function). Default: ${DEFAULT-VALUE}.")
    String eventType;

    @Option(names = "--s3-endpoint", description = "S3 API endpoint (MinIO, Ceph…; path-style). Default: "
            + "quarkus.s3.endpoint-override, else AWS. Credentials: quarkus.s3.aws.credentials.static-provider.*, "
            + "else the AWS environment.")
    URI s3Endpoint;

    @Option(names = "--progress", defaultValue = "auto", description = "bar, log or auto (a bar on a terminal). "
            + "Default: ${DEFAULT-VALUE}.")
    String progressStyle;

    private final PrintStream out;
    private final PrintStream err;
    private final Map<String, String> configOverrides;

    public BackfillCommand(PrintStream out, PrintStream err, Map<String, String> configOverrides) {
        this.out = out;
        this.err = err;
        this.configOverrides = configOverrides;
    }

    /** Parses and runs; returns the exit status. */
    public static int execute(PrintStream out, PrintStream err, String... args) {
        return execute(out, err, Map.of(), args);
    }

    /** With configuration on top of application.properties and the environment (tests). */
    public static int execute(PrintStream out, PrintStream err, Map<String, String> config, String... args) {
        CommandLine cli = new CommandLine(new BackfillCommand(out, err, config));
        cli.setOut(new java.io.PrintWriter(out, true));
        cli.setErr(new java.io.PrintWriter(err, true));
        return cli.execute(args);
    }

    @Override
    public Integer call() {
        if (rate <= 0 || concurrency < 1 || attempts < 1 || limit < 0) {
            err.println("--rate must be positive, --concurrency and --attempts at least 1, --limit not negative");
            return CANNOT_RUN;
        }
        Duration sweep = null;
        if (sweepAge != null) {
            try {
                sweep = DurationConverter.parseDuration(sweepAge);
            } catch (IllegalArgumentException e) {
                sweep = null;
            }
            if (sweep == null || sweep.isNegative()) {
                err.println("--sweep-orphans needs an age such as 1h or 30m: " + sweepAge);
                return CANNOT_RUN;
            }
        }
        if (sink == null && sweep == null) {
            err.println("--sink is required (or --sweep-orphans alone)");
            return CANNOT_RUN;
        }
        if (sink != null && (sink.getScheme() == null || !sink.getScheme().matches("https?"))) {
            err.println("--sink must be an http(s) URL: " + sink);
            return CANNOT_RUN;
        }
        SmallRyeConfig settings;
        SapiensConfig config;
        try {
            Map<String, String> overrides = new TreeMap<>(configOverrides);
            if (s3Endpoint != null) {
                overrides.put("quarkus.s3.endpoint-override", s3Endpoint.toString());
            }
            settings = StandaloneConfig.load(overrides);
            config = StandaloneConfig.sapiens(settings);
        } catch (RuntimeException e) {
            err.println("invalid configuration: " + e.getMessage());
            return CANNOT_RUN;
        }
        Backfill.Settings run = new Backfill.Settings(bucket, prefix, sink, rate, concurrency, state, force, dryRun,
                limit, attempts, Duration.ofSeconds(60), eventType, config.storage().outputBucket().orElse(null),
                config.storage().outputPrefix());
        try (S3Client s3 = StandaloneConfig.s3Client(settings)) {
            if (sweep != null) {
                String outputBucket = config.storage().outputBucket().orElse(bucket);
                String outputPrefix = config.storage().outputPrefix();
                String listPrefix = outputPrefix + (config.storage().outputBucket().isPresent() ? bucket + "/" : "")
                        + prefix;
                try {
                    OrphanSweep.Result swept = new OrphanSweep(s3, outputBucket, outputPrefix, sweep, dryRun,
                            java.time.Instant.now()).run(listPrefix);
                    out.println(swept.summary(dryRun, sweep));
                } catch (SdkException e) {
                    err.println("the sweep of s3://" + outputBucket + "/" + listPrefix + " failed: " + e.getMessage());
                    return CANNOT_RUN;
                }
                if (sink == null) {
                    return 0;
                }
            }
            Backfill.Counts counts = new Backfill(s3, run, new BackfillProgress(out, progress())).run();
            out.println(counts.summary());
            counts.failures().forEach(f -> out.println("  failed: " + f));
            return counts.failed() == 0 ? 0 : FAILURES;
        } catch (Backfill.CannotRun e) {
            err.println(e.getMessage());
            return CANNOT_RUN;
        }
    }

    private boolean progress() {
        return switch (progressStyle) {
            case "bar" -> true;
            case "log" -> false;
            default -> System.console() != null;
        };
    }
}
