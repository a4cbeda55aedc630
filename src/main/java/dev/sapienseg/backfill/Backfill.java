package dev.sapienseg.backfill;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.http.HttpMessageFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.storage.OutputKeys;
import dev.sapienseg.storage.StorageSegmenter;

/**
 * The backfill itself: lists a bucket prefix with the AWS SDK's paginator and, for each picture whose results are not
 * complete, sends the S3 event notification S3 itself would have sent for its upload, as a binary-mode CloudEvent
 * written by the CloudEvents SDK. Everything after the send is Knative's (the Broker's retries, the autoscaler
 * spreading the work over pods) and the function's (which reuses results that are still valid). Bounded: at most
 * {@code rate} notifications per second, at most {@code concurrency} checks and sends at once, and the lister never
 * runs more than twice that ahead.
 */
public final class Backfill {

    /**
     * @param outputBucket where the function writes results ({@code sapiens.storage.output-bucket}); null: the source
     *        bucket
     * @param outputPrefix the function's {@code sapiens.storage.output-prefix}
     */
    public record Settings(String bucket, String prefix, URI sink, double rate, int concurrency, Path state,
            boolean force, boolean dryRun, long limit, int attempts, Duration maxRetryAfter, String eventType,
            String outputBucket, String outputPrefix) {
    }

    /** The run cannot start (the bucket does not exist, the state file cannot be read). */
    public static final class CannotRun extends RuntimeException {
        CannotRun(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** What happened to the listed objects. */
    public static final class Counts {
        final AtomicLong listed = new AtomicLong();
        final AtomicLong sent = new AtomicLong();
        final AtomicLong wouldSend = new AtomicLong();
        final AtomicLong complete = new AtomicLong();
        final AtomicLong inState = new AtomicLong();
        final AtomicLong notPictures = new AtomicLong();
        final AtomicLong ownOutputs = new AtomicLong();
        final AtomicLong ignored = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        private final List<String> failures = new ArrayList<>();
        private final long start = System.nanoTime();

        public long listed() {
            return listed.get();
        }

        public long sent() {
            return sent.get();
        }

        public long skipped() {
            return complete.get() + inState.get() + notPictures.get() + ownOutputs.get() + ignored.get();
        }

        public long complete() {
            return complete.get();
        }

        public long failed() {
            return failed.get();
        }

        public long wouldSend() {
            return wouldSend.get();
        }

        public synchronized List<String> failures() {
            return List.copyOf(failures);
        }

        synchronized void fail(String key, String why) {
            failed.incrementAndGet();
            if (failures.size() < 100) {
                failures.add(key + ": " + why);
            }
        }

        double seconds() {
            return (System.nanoTime() - start) / 1e9;
        }

        /** The final line: sent / skipped (and why) / failed. */
        public String summary() {
            double seconds = seconds();
            return String.format(java.util.Locale.ROOT, "listed %d objects: %s %d, skipped %d (results complete %d, in the"
                    + " state file %d, not pictures %d, our own outputs %d, ignored by the sink %d), failed %d in %.1f s"
                    + " (%.1f notifications/s)", listed(), wouldSend() > 0 ? "would send" : "sent",
                    wouldSend() > 0 ? wouldSend() : sent(), skipped(), complete.get(), inState.get(), notPictures.get(),
                    ownOutputs.get(), ignored.get(), failed(), seconds, seconds > 0 ? sent() / seconds : 0);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final S3Client s3;
    private final Settings settings;
    private final BackfillProgress progress;
    private final Counts counts = new Counts();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final long intervalNanos;
    private long nextSend;
    private BufferedWriter stateLog;

    public Backfill(S3Client s3, Settings settings, BackfillProgress progress) {
        this.s3 = s3;
        this.settings = settings;
        this.progress = progress;
        this.intervalNanos = (long) (1e9 / settings.rate());
    }

    public Counts run() {
        Set<String> done = readState();
        try {
            s3.headBucket(b -> b.bucket(settings.bucket()));
        } catch (NoSuchBucketException e) {
            throw new CannotRun("no such bucket: " + settings.bucket(), e);
        } catch (SdkException e) {
            throw new CannotRun("cannot reach bucket " + settings.bucket() + ": " + e.getMessage(), e);
        }
        ExecutorService pool = Executors.newFixedThreadPool(settings.concurrency(), r -> {
            Thread t = new Thread(r, "backfill");
            t.setDaemon(true);
            return t;
        });
        Semaphore ahead = new Semaphore(settings.concurrency() * 2);
        long scheduled = 0;
        try {
            for (S3Object object : s3.listObjectsV2Paginator(b -> b.bucket(settings.bucket()).prefix(settings.prefix()))
                    .contents()) {
                counts.listed.incrementAndGet();
                String key = object.key();
                if (!OutputKeys.hasPictureExtension(key)) {
                    counts.notPictures.incrementAndGet();
                } else if (isOwnOutput(key)) {
                    counts.ownOutputs.incrementAndGet();
                } else if (done.contains(key)) {
                    counts.inState.incrementAndGet();
                } else {
                    if (settings.limit() > 0 && scheduled >= settings.limit()) {
                        counts.listed.decrementAndGet(); // not looked at
                        break;
                    }
                    scheduled++;
                    ahead.acquireUninterruptibly();
                    pool.execute(() -> {
                        try {
                            process(object);
                        } catch (RuntimeException e) {
                            counts.fail(object.key(), String.valueOf(e.getMessage()));
                        } finally {
                            ahead.release();
                            progress.report(counts, false);
                        }
                    });
                    continue;
                }
                progress.report(counts, false);
            }
        } catch (SdkException e) {
            counts.fail("(listing)", "listing " + settings.bucket() + "/" + settings.prefix() + " failed: " + e.getMessage());
        } finally {
            pool.shutdown();
            try {
                while (!pool.awaitTermination(1, TimeUnit.MINUTES)) {
                    progress.report(counts, true);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                pool.shutdownNow();
            }
            closeState();
        }
        progress.report(counts, true);
        progress.done();
        return counts;
    }

    private boolean isOwnOutput(String key) {
        boolean sameBucket = settings.outputBucket() == null || settings.outputBucket().equals(settings.bucket());
        return sameBucket && !settings.outputPrefix().isEmpty() && key.startsWith(settings.outputPrefix());
    }

    private void process(S3Object object) {
        String key = object.key();
        String eTag = unquote(object.eTag());
        if (!settings.force()) {
            Boolean complete = complete(key, eTag);
            if (complete == null) {
                return; // failed and counted
            }
            if (complete) {
                counts.complete.incrementAndGet();
                record(key);
                return;
            }
        }
        if (settings.dryRun()) {
            counts.wouldSend.incrementAndGet();
            return;
        }
        send(object, eTag);
    }

    /** Whether the function's summary for this picture exists and was made from this version (ETag) of it; null: unsafe. */
    private Boolean complete(String key, String eTag) {
        OutputKeys keys;
        try {
            keys = OutputKeys.derive(settings.outputPrefix(), settings.outputBucket() == null ? null : settings.bucket(), key);
        } catch (SegmentationException e) {
            counts.fail(key, e.getMessage()); // the function would refuse it (400 unsafe-key): nothing to send
            return null;
        }
        String outBucket = settings.outputBucket() == null ? settings.bucket() : settings.outputBucket();
        try {
            HeadObjectResponse head = s3.headObject(b -> b.bucket(outBucket).key(keys.summary()));
            return eTag != null && eTag.equals(head.metadata().get(StorageSegmenter.META_SOURCE_ETAG));
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            return false; // cannot tell: send, the function checks again
        }
    }

    private void send(S3Object object, String eTag) {
        CloudEvent event = notification(object, eTag);
        Map<String, String> headers = new LinkedHashMap<>();
        byte[][] body = new byte[1][];
        HttpMessageFactory.createWriter(headers::put, bytes -> body[0] = bytes).writeBinary(event);
        HttpRequest.Builder request = HttpRequest.newBuilder(settings.sink()).timeout(Duration.ofMinutes(10))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body[0] == null ? new byte[0] : body[0]));
        headers.forEach((name, value) -> {
            if (!name.equalsIgnoreCase("content-length")) {
                request.header(name, value);
            }
        });
        String why = null;
        for (int attempt = 1; attempt <= settings.attempts(); attempt++) {
            pace();
            Duration wait;
            try {
                HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
                int status = response.statusCode();
                if (status == 204) {
                    counts.ignored.incrementAndGet();
                    record(object.key());
                    return;
                }
                if (status / 100 == 2) {
                    counts.sent.incrementAndGet();
                    record(object.key());
                    return;
                }
                why = "HTTP " + status + errorOf(response.body());
                if (status != 408 && status != 429 && status < 500) {
                    break; // permanent: the sink (or the function behind it) refuses this notification
                }
                wait = response.headers().firstValue("Retry-After").flatMap(Backfill::seconds)
                        .orElse(backoff(attempt));
            } catch (IOException e) {
                why = "cannot reach " + settings.sink() + ": " + e;
                wait = backoff(attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                why = "interrupted";
                break;
            }
            if (attempt < settings.attempts()) {
                sleep(wait.compareTo(settings.maxRetryAfter()) > 0 ? settings.maxRetryAfter() : wait);
            }
        }
        counts.fail(object.key(), why);
    }

    /** The S3 event notification S3 sends for an upload (key form-encoded, as S3 does). */
    private CloudEvent notification(S3Object object, String eTag) {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("eventVersion", "2.1");
        record.put("eventSource", "aws:s3");
        record.put("eventTime", OffsetDateTime.now(ZoneOffset.UTC).toString());
        record.put("eventName", "ObjectCreated:Put");
        record.put("userIdentity", Map.of("principalId", "sapiens-backfill"));
        record.put("s3", Map.of("s3SchemaVersion", "1.0", "configurationId", "sapiens-backfill",
                "bucket", Map.of("name", settings.bucket(), "arn", "arn:aws:s3:::" + settings.bucket()),
                "object", Map.of("key", URLEncoder.encode(object.key(), StandardCharsets.UTF_8),
                        "size", object.size() == null ? 0 : object.size(), "eTag", eTag == null ? "" : eTag)));
        byte[] data;
        try {
            data = JSON.writeValueAsBytes(Map.of("Records", List.of(record)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return CloudEventBuilder.v1()
                .withId(eventId(object.key(), eTag))
                .withSource(URI.create("/sapiens/backfill/" + settings.bucket()))
                .withType(settings.eventType())
                .withSubject(object.key().length() <= 512 ? object.key() : object.key().substring(0, 512))
                .withTime(OffsetDateTime.now(ZoneOffset.UTC))
                .withDataContentType("application/json")
                .withData(data)
                .build();
    }

    /** The same picture version always gets the same id: a resent notification is recognisable as a duplicate. */
    private String eventId(String key, String eTag) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest((settings.bucket() + "\u0000" + key + "\u0000" + eTag)
                    .getBytes(StandardCharsets.UTF_8));
            return "backfill-" + HexFormat.of().formatHex(digest, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** At most {@code rate} sends per second, over all threads. */
    private void pace() {
        long at;
        synchronized (this) {
            long now = System.nanoTime();
            at = Math.max(now, nextSend);
            nextSend = at + intervalNanos;
        }
        long wait = at - System.nanoTime();
        if (wait > 0) {
            sleep(Duration.ofNanos(wait));
        }
    }

    private static Duration backoff(int attempt) {
        return Duration.ofSeconds(Math.min(30, 1L << Math.min(5, attempt - 1)));
    }

    private static java.util.Optional<Duration> seconds(String value) {
        try {
            return java.util.Optional.of(Duration.ofSeconds(Math.max(0, Long.parseLong(value.trim()))));
        } catch (NumberFormatException e) {
            return java.util.Optional.empty(); // an HTTP date: use the backoff
        }
    }

    private static String errorOf(String body) {
        try {
            JsonNode node = JSON.readTree(body);
            if (node != null && node.hasNonNull("error")) {
                return " " + node.get("error").asText() + (node.hasNonNull("message") ? ": " + node.get("message").asText() : "");
            }
        } catch (IOException | RuntimeException e) {
            // not JSON
        }
        return "";
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(Math.max(0, d.toMillis()), (int) (d.toNanos() % 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String unquote(String eTag) {
        return eTag == null ? null : eTag.replace("\"", "");
    }

    private Set<String> readState() {
        Set<String> done = new HashSet<>();
        if (settings.state() == null) {
            return done;
        }
        try {
            if (Files.exists(settings.state())) {
                done.addAll(Files.readAllLines(settings.state(), StandardCharsets.UTF_8));
                done.remove("");
            }
            stateLog = Files.newBufferedWriter(settings.state(), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new CannotRun("cannot use the state file " + settings.state() + ": " + e.getMessage(), e);
        }
        return done;
    }

    /** Appends a key that needs no further notification (a line per key: keys with a line break are never recorded). */
    private synchronized void record(String key) {
        if (stateLog == null || key.indexOf('\n') >= 0 || key.indexOf('\r') >= 0) {
            return;
        }
        try {
            stateLog.write(key);
            stateLog.write('\n');
            stateLog.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the state file " + settings.state(), e);
        }
    }

    private synchronized void closeState() {
        if (stateLog != null) {
            try {
                stateLog.close();
            } catch (IOException e) {
                // every line was flushed as it was written
            }
        }
    }
}
