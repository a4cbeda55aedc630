package dev.sapienseg.storage;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.lifecycle.SegmentationService;
import dev.sapienseg.logging.LogSafe;
import dev.sapienseg.metrics.RequestPath;
import dev.sapienseg.metrics.SegmentationMetrics;
import dev.sapienseg.output.OutputPlan;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.pipeline.SegmentationPipeline;
import dev.sapienseg.pipeline.SegmentationRequest;
import dev.sapienseg.report.SegmentationReport;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;

/**
 * Storage-upload triggers: reads the object named by a notification through the S3 API, segments it with the pod's
 * pipeline and writes the results under the output bucket and prefix ({@link OutputKeys}), the summary last. These are
 * the rules; the reads and writes are {@link ResultStore}'s.
 *
 * <p><b>Reuse only when true.</b> The summary lists every output with the ETag the store gave it, and its metadata
 * carries the identity of what it was made from (a digest of source bucket, key, ETag, version, model and outputs).
 * A redelivery answers {@code reused: true} only when that identity is this very source's and every listed output
 * still exists with its ETag; anything else (an output deleted or overwritten, another model, a new version of the
 * source) is recomputed and written again.
 *
 * <p><b>Nothing half-done looks complete.</b> Before rewriting, the old summary is removed; a write that fails
 * half-way removes the summary again, then only the objects this attempt wrote (each carries the attempt's id in its
 * metadata, checked by HEAD before deleting, so a concurrent attempt's objects stay). A process killed mid-write
 * leaves objects and no summary: the next delivery of the object rewrites them and then removes this name's outputs
 * its summary does not list; an object never delivered again is left to the backfill's {@code --sweep-orphans}.
 *
 * <p><b>Duplicate deliveries.</b> In one pod, deliveries for the same output set run one at a time: a second waits for
 * the first and then answers from its summary ({@code reused: true}). Across pods, after writing its summary an
 * attempt reads it back and checks every listed ETag against the objects; on a mismatch (another pod's write landed
 * in between) it writes again, for a bounded number of rounds.
 *
 * <p>Only allow-listed buckets are read, and nothing is ever fetched from a URL an event supplies: events only name a
 * bucket and a key. Every S3 failure is answered through {@link StorageStatus}.
 */
@ApplicationScoped
public class StorageSegmenter {

    private static final Logger LOG = Logger.getLogger(StorageSegmenter.class);

    /** Write rounds when concurrent writers keep replacing each other's outputs. */
    static final int MAX_WRITE_ROUNDS = 3;

    private final SapiensConfig config;
    private final SegmentationService service;
    private final SegmentationMetrics metrics;
    private final ResultStore store;
    /** Output sets being written in this pod: a duplicate delivery waits for the one under way. */
    private final ConcurrentHashMap<String, CompletableFuture<Void>> inFlight = new ConcurrentHashMap<>();

    @Inject
    public StorageSegmenter(S3Client s3, SapiensConfig config, SegmentationService service, SegmentationMetrics metrics) {
        this.config = config;
        this.service = service;
        this.metrics = metrics;
        this.store = new ResultStore(s3, metrics);
        if (config.storage().outputPrefix().isEmpty() && config.storage().outputBucket().isEmpty()) {
            LOG.warn("sapiens.storage.output-prefix is empty and results go to the source bucket: every notification"
                    + " would look like one of our own outputs and be ignored; set a prefix or an output bucket");
        }
    }

    /**
     * Handles every record of a notification, each on its own: one bad record neither stops the others nor loses
     * their results. The answer (docs/storage.md, "Guarantees"):
     * <ul>
     * <li>more than {@code sapiens.storage.max-records} records: 413 too-many-records, nothing processed;</li>
     * <li>every record ignored: {@link EventIgnoredException} (204);</li>
     * <li>any record failed retryably: that failure (503/429 with Retry-After), so that the notification is
     * redelivered; the records that succeeded are reused then;</li>
     * <li>every record that was not ignored failed permanently: the first one's failure (4xx, not retried);</li>
     * <li>otherwise the reply, with one result per record: objects, or {@code error}, or {@code ignored}.</li>
     * </ul>
     */
    public StoredResult.Reply handle(List<ObjectEvent> objects) {
        int max = config.storage().maxRecords();
        if (objects.size() > max) {
            throw new SegmentationException(FailureReason.TOO_MANY_RECORDS, "the notification names " + objects.size()
                    + " records; at most " + max + " are accepted (sapiens.storage.max-records)");
        }
        List<StoredResult> results = new ArrayList<>();
        List<String> ignored = new ArrayList<>();
        List<SegmentationException> failures = new ArrayList<>();
        int succeeded = 0;
        for (ObjectEvent object : objects) {
            SegmentationException failure = object.problem();
            if (failure == null) {
                String why = ignoreReason(object);
                if (why != null) {
                    LOG.infof("ignoring s3://%s/%s: %s", LogSafe.of(object.bucket()), LogSafe.of(object.key()), why);
                    ignored.add(why);
                    results.add(StoredResult.ignored(object, why));
                    continue;
                }
                try {
                    results.add(handle(object));
                    succeeded++;
                    continue;
                } catch (SegmentationException e) {
                    failure = e;
                }
            }
            LOG.infof("s3://%s/%s failed: %d %s: %s", LogSafe.of(object.bucket()), LogSafe.of(object.key()),
                    failure.reason().httpStatus(), failure.reason().code(), LogSafe.of(failure.getMessage()));
            failures.add(failure);
            results.add(StoredResult.failed(object, failure));
        }
        if (ignored.size() == objects.size()) {
            throw new EventIgnoredException(ignored.size() + " ignored: " + LogSafe.of(ignored.get(0), 160)
                    + (ignored.size() > 1 ? " (and " + (ignored.size() - 1) + " more)" : ""));
        }
        SegmentationException retryable = failures.stream().filter(f -> f.reason().retryable()).findFirst().orElse(null);
        if (retryable != null) {
            throw overall(retryable, failures.size(), objects.size(), succeeded);
        }
        if (succeeded == 0) {
            throw overall(failures.get(0), failures.size(), objects.size(), 0);
        }
        return new StoredResult.Reply(results);
    }

    /** One record's failure as the notification's; with several records, the message says how many failed. */
    private static SegmentationException overall(SegmentationException first, int failed, int records, int succeeded) {
        if (records == 1) {
            return first;
        }
        return new SegmentationException(first.reason(), failed + " of " + records + " records failed"
                + (succeeded > 0 ? " (" + succeeded + " stored, reused when this is redelivered)" : "")
                + "; first: " + first.getMessage(), first);
    }

    private String ignoreReason(ObjectEvent object) {
        if (!object.created()) {
            return "not an object-created event (" + LogSafe.of(object.eventName(), 60) + ")";
        }
        if (outputBucket(object.bucket()).equals(object.bucket()) && object.key() != null
                && object.key().startsWith(config.storage().outputPrefix())) {
            return "one of our own outputs (prefix " + LogSafe.of(config.storage().outputPrefix(), 60) + ")";
        }
        return null;
    }

    private StoredResult handle(ObjectEvent object) {
        List<String> allowed = config.storage().allowedBuckets().orElse(List.of());
        if (!allowed.contains(object.bucket())) {
            LOG.infof("bucket '%s' is not in sapiens.storage.allowed-buckets %s", LogSafe.of(object.bucket()), allowed);
            throw new SegmentationException(FailureReason.BUCKET_NOT_ALLOWED, "bucket '" + LogSafe.of(object.bucket(), 63)
                    + "' is not allowed");
        }
        boolean separateOutputBucket = config.storage().outputBucket().isPresent();
        OutputKeys keys = OutputKeys.derive(config.storage().outputPrefix(), separateOutputBucket ? object.bucket() : null,
                object.key());
        String outBucket = outputBucket(object.bucket());
        String flight = outBucket + "/" + keys.summary();
        while (true) {
            CompletableFuture<Void> mine = new CompletableFuture<>();
            CompletableFuture<Void> running = inFlight.putIfAbsent(flight, mine);
            if (running != null) {
                // The same output set is being written by this pod (a redelivery after a timeout): wait for it, then
                // look again; its summary answers us if it succeeded.
                LOG.debugf("s3://%s/%s: waiting for the delivery under way", LogSafe.of(object.bucket()), LogSafe.of(object.key()));
                try {
                    running.join();
                } catch (CompletionException | CancellationException e) {
                    // it failed: we try ourselves
                }
                continue;
            }
            try {
                return segmentAndStore(object, new ResultStore.Target(outBucket, keys));
            } finally {
                inFlight.remove(flight, mine);
                mine.complete(null);
            }
        }
    }

    private StoredResult segmentAndStore(ObjectEvent object, ResultStore.Target target) {
        SegmentationPipeline pipeline = service.pipeline();
        OutputPlan plan = pipeline.planner().plan(config.storage().outputs().kinds());
        int outputCount = plan.kinds().size();

        HeadObjectResponse head = store.headSource(object.bucket(), object.key());
        StoredResult.SourceObject source = new StoredResult.SourceObject(object.bucket(), object.key(),
                ResultStore.unquote(head.eTag()), head.versionId(), head.contentLength());
        ResultIdentity identity = ResultIdentity.of(source, pipeline.model().name(), plan);
        ReadBack previous = store.read(target, identity, outputCount);
        if (previous instanceof ReadBack.Current current) {
            LOG.infof("s3://%s/%s: outputs complete and current, not recomputed", LogSafe.of(object.bucket()),
                    LogSafe.of(object.key()));
            return reused(current.result(), true);
        }
        long limit = config.limits().maxImageBytes().asLongValue();
        if (head.contentLength() > limit) {
            throw new SegmentationException(FailureReason.IMAGE_TOO_LARGE, "object of " + head.contentLength()
                    + " bytes exceeds the limit of " + limit + " bytes");
        }
        byte[] image = store.readSource(object.bucket(), object.key(), head.eTag());

        Segmentation segmentation = pipeline.segment(SegmentationRequest.of(image, plan));
        metrics.segmented(segmentation, RequestPath.STORAGE);
        SegmentationReport report = SegmentationReport.summary(object.key(), segmentation, pipeline.model(),
                pipeline.normalization());

        boolean summaryMayExist = !(previous instanceof ReadBack.Absent);
        int unreadable = 0;
        for (int round = 1; round <= MAX_WRITE_ROUNDS; round++) {
            if (summaryMayExist) {
                store.removeSummary(target); // the outputs are about to change: the old summary must not vouch for them
            }
            summaryMayExist = true;
            String attempt = UUID.randomUUID().toString();
            StoredResult written = store.write(target, identity, attempt, source, segmentation, report);
            ReadBack verified = store.read(target, identity, outputCount);
            if (verified instanceof ReadBack.Current current) {
                LOG.infof("s3://%s/%s: segmented into %d objects under s3://%s/%s", LogSafe.of(object.bucket()),
                        LogSafe.of(object.key()), written.objects().size(), LogSafe.of(target.bucket()),
                        LogSafe.of(config.storage().outputPrefix()));
                store.removeUnlisted(target, current.result());
                return reused(current.result(), !attempt.equals(current.attempt()));
            }
            if (verified instanceof ReadBack.Stale stale && !identity.digest().equals(stale.identity())) {
                // Another delivery stored results for something else (a newer version of the object, another model)
                // after ours: ours are superseded, and the caller must not be told they are stored.
                throw new SegmentationException(FailureReason.STORAGE_UNAVAILABLE, "the results of this object were"
                        + " replaced by another delivery's (a newer version of the object, or another model); try again");
            }
            if (verified instanceof ReadBack.Absent) {
                unreadable++; // deleted by another delivery's rewrite, or no s3:GetObject on the outputs
            }
            LOG.warnf("s3://%s/%s: outputs were replaced while being written (another delivery of the same object?);"
                    + " writing them again (round %d of %d)", LogSafe.of(object.bucket()), LogSafe.of(object.key()),
                    round, MAX_WRITE_ROUNDS);
            try {
                Thread.sleep(ThreadLocalRandom.current().nextLong(20, 200L * round));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (unreadable == MAX_WRITE_ROUNDS) {
            throw new SegmentationException(FailureReason.STORAGE_UNAVAILABLE, "the summary just written could not be"
                    + " read back (does the function have s3:GetObject on the output prefix?); try again");
        }
        throw new SegmentationException(FailureReason.STORAGE_UNAVAILABLE, "concurrent deliveries kept replacing the"
                + " results of this object; try again");
    }

    private static StoredResult reused(StoredResult result, boolean reused) {
        return new StoredResult(result.source(), result.objects(), result.segmentation(), reused);
    }

    private String outputBucket(String sourceBucket) {
        return config.storage().outputBucket().orElse(sourceBucket);
    }

    /** {@code coco} is a folder run's dataset, not an output of one object: naming it stops the start. */
    @ApplicationScoped
    static class OutputsCheck {
        void check(@jakarta.enterprise.event.Observes io.quarkus.runtime.StartupEvent event,
                dev.sapienseg.config.SapiensConfig config) {
            if (config.storage().outputs().kinds().contains(dev.sapienseg.output.OutputKind.COCO)) {
                throw new IllegalStateException("sapiens.storage.outputs: 'coco' is the dataset of a batch run"
                        + " (segment --outputs coco); the storage path writes each object's RLE with 'rle'");
            }
        }
    }
}
