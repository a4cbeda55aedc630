package dev.sapienseg.storage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.classes.Selection;
import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.logging.LogSafe;
import dev.sapienseg.metrics.SegmentationMetrics;
import dev.sapienseg.output.OutputFile;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.report.SegmentationReport;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.pipeline.SegmentationPipeline;
import dev.sapienseg.lifecycle.SegmentationService;
import dev.sapienseg.storage.StorageStatus.Op;
import dev.sapienseg.storage.StoredResult.StoredObject;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;

/**
 * Storage-upload triggers: reads the object named by a notification through the S3 API, segments it with the pod's
 * pipeline and writes the results under the output bucket and prefix ({@link OutputKeys}), the summary last.
 *
 * <p><b>Reuse only when true.</b> The summary lists every output with the ETag the store gave it, and its metadata
 * carries the identity of what it was made from (a digest of source bucket, key, ETag, version, model and outputs).
 * A redelivery answers {@code reused: true} only when that identity is this very source's and every listed output
 * still exists with its ETag; anything else (an output deleted or overwritten, another model, a new version of the
 * source) is recomputed and written again.
 *
 * <p><b>Nothing half-done looks complete.</b> Before rewriting, the old summary is removed; a write that fails
 * half-way removes the summary again, then only the objects this attempt wrote (each carries the attempt's id in its
 * metadata, checked by HEAD before deleting, so a concurrent attempt's objects stay).
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

    static final String META_SOURCE_BUCKET = "sapiens-source-bucket";
    /** SHA-256 of {@code bucket "/" key}: keys may be 1024 bytes, too long for S3's 2 KB of user metadata. */
    static final String META_SOURCE_DIGEST = "sapiens-source-digest";
    public static final String META_SOURCE_ETAG = "sapiens-source-etag";
    static final String META_SOURCE_VERSION = "sapiens-source-version";
    static final String META_MODEL = "sapiens-model";
    static final String META_OUTPUTS = "sapiens-outputs";
    /** SHA-256 over everything the summary was made from: what the reuse check compares. */
    static final String META_IDENTITY = "sapiens-identity";
    /** Which attempt wrote the object: a failed attempt removes only its own. */
    static final String META_ATTEMPT = "sapiens-attempt";

    /** Longest value of a free-text metadata field (ETag, version id, model name, bucket). */
    static final int MAX_META_VALUE = 128;
    /** Write rounds when concurrent writers keep replacing each other's outputs. */
    static final int MAX_WRITE_ROUNDS = 3;

    private final S3Client s3;
    private final SapiensConfig config;
    private final SegmentationService service;
    private final SegmentationMetrics metrics;
    private final ObjectMapper json = new ObjectMapper();
    /** Output sets being written in this pod: a duplicate delivery waits for the one under way. */
    private final ConcurrentHashMap<String, CompletableFuture<Void>> inFlight = new ConcurrentHashMap<>();

    @Inject
    public StorageSegmenter(S3Client s3, SapiensConfig config, SegmentationService service, SegmentationMetrics metrics) {
        this.s3 = s3;
        this.config = config;
        this.service = service;
        this.metrics = metrics;
        if (config.storage().outputPrefix().isEmpty() && config.storage().outputBucket().filter(b -> !b.isBlank()).isEmpty()) {
            LOG.warn("sapiens.storage.output-prefix is empty and results go to the source bucket: every notification"
                    + " would look like one of our own outputs and be ignored; set a prefix or an output bucket");
        }
    }

    /**
     * Handles every record of a notification, each on its own: one bad record neither stops the others nor loses
     * their results. The answer (see README, "Storage-upload triggers"):
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
        boolean separateOutputBucket = config.storage().outputBucket().filter(b -> !b.isBlank()).isPresent();
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
                } catch (CompletionException | java.util.concurrent.CancellationException e) {
                    // it failed: we try ourselves
                }
                continue;
            }
            try {
                return segmentAndStore(object, keys, outBucket);
            } finally {
                inFlight.remove(flight, mine);
                mine.complete(null);
            }
        }
    }

    private StoredResult segmentAndStore(ObjectEvent object, OutputKeys keys, String outBucket) {
        SegmentationPipeline pipeline = service.pipeline();
        String model = pipeline.model().name();
        Set<OutputKind> outputs = outputs();

        HeadObjectResponse head = call(Op.READ_SOURCE, object.bucket(), object.key(),
                () -> s3.headObject(b -> b.bucket(object.bucket()).key(object.key())));
        StoredResult.SourceObject source = new StoredResult.SourceObject(object.bucket(), object.key(),
                unquote(head.eTag()), head.versionId(), head.contentLength());
        Selection selection = outputs.stream().anyMatch(OutputKind::selective) ? pipeline.defaultSelection() : null;
        Identity identity = Identity.of(source, model, outputs, selection);
        Previous previous = previous(outBucket, keys, identity, outputs.size());
        if (previous.complete() != null) {
            LOG.infof("s3://%s/%s: outputs complete and current, not recomputed", LogSafe.of(object.bucket()),
                    LogSafe.of(object.key()));
            return previous.complete();
        }
        long limit = config.limits().maxImageBytes().asLongValue();
        if (head.contentLength() > limit) {
            throw new SegmentationException(FailureReason.IMAGE_TOO_LARGE, "object of " + head.contentLength()
                    + " bytes exceeds the limit of " + limit + " bytes");
        }
        byte[] image = call(Op.READ_SOURCE, object.bucket(), object.key(), () -> s3.getObjectAsBytes(GetObjectRequest.builder()
                .bucket(object.bucket()).key(object.key()).ifMatch(head.eTag()).build()).asByteArray());

        Segmentation segmentation = pipeline.segment(image, outputs, selection);
        metrics.segmented(segmentation, "storage");
        SegmentationReport report = SegmentationReport.summary(object.key(), segmentation, pipeline.model(),
                pipeline.normalization());

        boolean summaryMayExist = previous.summaryExists();
        int unreadable = 0;
        for (int round = 1; round <= MAX_WRITE_ROUNDS; round++) {
            String attempt = UUID.randomUUID().toString();
            StoredResult written = write(outBucket, keys, source, identity, attempt, segmentation, report,
                    summaryMayExist);
            summaryMayExist = true;
            StoredResult verified = verify(outBucket, keys, identity, attempt, outputs.size());
            if (verified == READ_BACK_FAILED) {
                unreadable++;
                verified = null;
            }
            if (verified != null) {
                LOG.infof("s3://%s/%s: segmented into %d objects under s3://%s/%s", LogSafe.of(object.bucket()),
                        LogSafe.of(object.key()), written.objects().size(), LogSafe.of(outBucket),
                        LogSafe.of(config.storage().outputPrefix()));
                return verified;
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

    /** Writes every output, then the summary listing their ETags; on failure removes the summary and this attempt's objects. */
    private StoredResult write(String outBucket, OutputKeys keys, StoredResult.SourceObject source, Identity identity,
            String attempt, Segmentation segmentation, SegmentationReport report,
            boolean summaryMayExist) {
        Map<String, String> metadata = metadata(source, identity, attempt);
        List<String> attempted = new ArrayList<>();
        List<StoredObject> written = new ArrayList<>();
        try {
            if (summaryMayExist) {
                // The outputs are about to change: the old summary must not vouch for them meanwhile.
                call(Op.DELETE, outBucket, keys.summary(), () -> s3.deleteObject(b -> b.bucket(outBucket).key(keys.summary())));
            }
            for (OutputFile file : segmentation.outputs().values()) {
                String key = keys.key(file.kind(), segmentation.format());
                attempted.add(key);
                written.add(put(outBucket, key, metadata, file));
            }
            StoredResult stored = new StoredResult(source, List.copyOf(written), report, false);
            byte[] summary = json.writeValueAsBytes(stored);
            attempted.add(keys.summary());
            written.add(put(outBucket, keys.summary(), metadata, OutputFile.of(OutputKind.SUMMARY, summary)));
            return new StoredResult(source, List.copyOf(written), report, false);
        } catch (IOException | RuntimeException e) {
            removeAttempt(outBucket, keys.summary(), attempt, attempted);
            if (e instanceof SegmentationException se) {
                throw se;
            }
            LOG.errorf(e, "writing results for s3://%s/%s failed", LogSafe.of(source.bucket()), LogSafe.of(source.key()));
            throw new SegmentationException(FailureReason.INTERNAL_ERROR, "writing the results failed", e);
        }
    }

    /** Clean-up of a failed attempt: the summary first (nothing may look complete), then only our own objects. */
    private void removeAttempt(String bucket, String summaryKey, String attempt, List<String> attempted) {
        try {
            call(Op.DELETE, bucket, summaryKey, () -> s3.deleteObject(b -> b.bucket(bucket).key(summaryKey)));
        } catch (SegmentationException cleanup) {
            LOG.warnf("could not remove the summary %s of a failed attempt: %s", LogSafe.of(summaryKey), cleanup.getMessage());
        }
        for (String key : attempted) {
            try {
                HeadObjectResponse head = call(Op.READ_OUTPUT, bucket, key, () -> s3.headObject(b -> b.bucket(bucket).key(key)));
                if (head != null && attempt.equals(head.metadata().get(META_ATTEMPT))) {
                    call(Op.DELETE, bucket, key, () -> s3.deleteObject(b -> b.bucket(bucket).key(key)));
                }
            } catch (SegmentationException cleanup) {
                LOG.warnf("could not remove partial output %s: %s", LogSafe.of(key), cleanup.getMessage());
            }
        }
    }

    /** {@link #verify}: the summary just written was not there to read. */
    private static final StoredResult READ_BACK_FAILED = new StoredResult(null, List.of(), null, false);

    /** What a previous attempt left: a complete and current result, or whether a summary (stale or not) exists. */
    private record Previous(StoredResult complete, boolean summaryExists) {
    }

    private Previous previous(String outBucket, OutputKeys keys, Identity identity, int outputCount) {
        ResponseBytes<GetObjectResponse> summary = call(Op.READ_OUTPUT, outBucket, keys.summary(),
                () -> s3.getObjectAsBytes(b -> b.bucket(outBucket).key(keys.summary())));
        if (summary == null) {
            return new Previous(null, false);
        }
        StoredResult consistent = consistent(outBucket, keys, identity, outputCount, summary);
        return new Previous(consistent == null ? null
                : new StoredResult(consistent.source(), consistent.objects(), consistent.segmentation(), true), true);
    }

    /**
     * After writing: the summary now in place, if it is for this identity and every object it lists has the ETag it
     * records; null if another writer's objects replaced some of them (then we write again).
     */
    private StoredResult verify(String outBucket, OutputKeys keys, Identity identity, String attempt, int outputCount) {
        ResponseBytes<GetObjectResponse> summary = call(Op.READ_OUTPUT, outBucket, keys.summary(),
                () -> s3.getObjectAsBytes(b -> b.bucket(outBucket).key(keys.summary())));
        if (summary == null) {
            return READ_BACK_FAILED; // deleted by another delivery's rewrite, or no s3:GetObject on the outputs
        }
        if (!identity.digest().equals(summary.response().metadata().get(META_IDENTITY))) {
            // Another delivery stored results for something else (a newer version of the object, another model)
            // after ours: ours are superseded, and the caller must not be told they are stored.
            throw new SegmentationException(FailureReason.STORAGE_UNAVAILABLE, "the results of this object were"
                    + " replaced by another delivery's (a newer version of the object, or another model); try again");
        }
        StoredResult consistent = consistent(outBucket, keys, identity, outputCount, summary);
        if (consistent == null) {
            return null;
        }
        boolean ours = attempt.equals(summary.response().metadata().get(META_ATTEMPT));
        return new StoredResult(consistent.source(), consistent.objects(), consistent.segmentation(), !ours);
    }

    /** The summary's result (with the summary itself listed) if it is for this identity and its outputs are intact. */
    private StoredResult consistent(String outBucket, OutputKeys keys, Identity identity, int outputCount,
            ResponseBytes<GetObjectResponse> summary) {
        if (!identity.digest().equals(summary.response().metadata().get(META_IDENTITY))) {
            return null;
        }
        StoredResult previous;
        try {
            previous = json.readValue(summary.asByteArray(), StoredResult.class);
        } catch (IOException e) {
            LOG.debugf("unreadable summary %s: %s", LogSafe.of(keys.summary()), e.getMessage());
            return null;
        }
        if (previous.objects() == null || previous.objects().size() != outputCount || previous.source() == null
                || !identity.matches(previous.source())) {
            return null;
        }
        Set<String> expected = new HashSet<>(keys.all());
        for (StoredObject o : previous.objects()) {
            if (!outBucket.equals(o.bucket()) || !expected.contains(o.key()) || o.eTag() == null) {
                return null;
            }
            HeadObjectResponse head = call(Op.READ_OUTPUT, outBucket, o.key(), () -> s3.headObject(b -> b.bucket(outBucket).key(o.key())));
            if (head == null || !o.eTag().equals(unquote(head.eTag()))) {
                LOG.infof("s3://%s/%s: listed in the summary but %s", LogSafe.of(outBucket), LogSafe.of(o.key()),
                        head == null ? "missing" : "changed (ETag " + LogSafe.of(unquote(head.eTag()), 80) + ")");
                return null;
            }
        }
        List<StoredObject> objects = new ArrayList<>(previous.objects());
        objects.add(new StoredObject(outBucket, keys.summary(), "application/json", summary.response().contentLength(),
                unquote(summary.response().eTag())));
        return new StoredResult(previous.source(), List.copyOf(objects), previous.segmentation(), false);
    }

    /** What is written besides the summary, validated at start-up ({@code sapiens.storage.outputs}). */
    private Set<OutputKind> outputs() {
        Set<OutputKind> kinds = EnumSet.noneOf(OutputKind.class);
        kinds.addAll(config.storage().outputs().kinds());
        kinds.remove(OutputKind.SUMMARY); // always written: it marks the outputs complete
        return kinds;
    }

    private String outputBucket(String sourceBucket) {
        return config.storage().outputBucket().filter(b -> !b.isBlank()).orElse(sourceBucket);
    }

    /**
     * What a result is made from, and its digest. The digest covers every field in full; the metadata shows bounded
     * forms of the free-text ones, so that the user metadata stays within S3's 2 KB for any legal key.
     */
    record Identity(String bucket, String key, String eTag, String versionId, String model, String outputs, String digest) {
        static Identity of(StoredResult.SourceObject source, String model, Set<OutputKind> outputs) {
            return of(source, model, outputs, null);
        }

        /** @param selection what the selective outputs show (part of what they were made from), or null */
        static Identity of(StoredResult.SourceObject source, String model, Set<OutputKind> outputs, Selection selection) {
            String joined = outputs.stream().map(OutputKind::id).collect(java.util.stream.Collectors.joining(","))
                    + (selection == null ? "" : ";select=" + selection.expression() + (selection.invert() ? ";invert" : ""));
            String digest = sha256(String.join("\u0000", source.bucket(), source.key(), String.valueOf(source.eTag()),
                    String.valueOf(source.versionId()), model, joined));
            return new Identity(source.bucket(), source.key(), source.eTag(), source.versionId(), model, joined, digest);
        }

        boolean matches(StoredResult.SourceObject s) {
            return bucket.equals(s.bucket()) && key.equals(s.key()) && java.util.Objects.equals(eTag, s.eTag())
                    && java.util.Objects.equals(versionId, s.versionId());
        }
    }

    /** The user metadata of every object written: bounded, ASCII, at most about 1 KB whatever the key. */
    static Map<String, String> metadata(StoredResult.SourceObject source, Identity identity, String attempt) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(META_SOURCE_BUCKET, bounded(source.bucket()));
        meta.put(META_SOURCE_DIGEST, sha256(source.bucket() + "/" + source.key()));
        meta.put(META_SOURCE_ETAG, bounded(String.valueOf(source.eTag())));
        if (source.versionId() != null) {
            meta.put(META_SOURCE_VERSION, bounded(source.versionId()));
        }
        meta.put(META_MODEL, bounded(identity.model()));
        meta.put(META_OUTPUTS, bounded(identity.outputs()));
        meta.put(META_IDENTITY, identity.digest());
        meta.put(META_ATTEMPT, attempt);
        return meta;
    }

    /** Printable ASCII (headers), at most {@link #MAX_META_VALUE} characters; longer text ends with its digest. */
    static String bounded(String text) {
        String ascii = text.replaceAll("[^\\x20-\\x7E]", "?");
        if (ascii.length() <= MAX_META_VALUE) {
            return ascii;
        }
        return ascii.substring(0, MAX_META_VALUE - 18) + "~" + sha256(text).substring(0, 17);
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private StoredObject put(String bucket, String key, Map<String, String> metadata, OutputFile file) {
        Supplier<InputStream> content = file.content();
        PutObjectResponse response = call(Op.WRITE, bucket, key, () -> s3.putObject(b -> b.bucket(bucket).key(key)
                .contentType(file.contentType()).metadata(metadata),
                RequestBody.fromContentProvider(content::get, file.length(), file.contentType())));
        return new StoredObject(bucket, key, file.contentType(), file.length(), unquote(response.eTag()));
    }

    private static String unquote(String eTag) {
        return eTag == null ? null : eTag.replace("\"", "");
    }

    /**
     * Every S3 call goes through here: a failure is answered by {@link StorageStatus}, logged with the SDK's detail
     * (which may name the endpoint) and thrown with the short message; an absent object comes back as null.
     */
    private <T> T call(Op op, String bucket, String key, Supplier<T> call) {
        long start = System.nanoTime();
        try {
            T result = call.get();
            metrics.storage(op == Op.READ_SOURCE || op == Op.READ_OUTPUT ? "read" : "write", System.nanoTime() - start);
            return result;
        } catch (SdkException e) {
            StorageStatus.Outcome outcome = StorageStatus.classify(op, e);
            if (outcome.absent()) {
                LOG.debugf("s3://%s/%s: %s", LogSafe.of(bucket), LogSafe.of(key), outcome.message());
                return null;
            }
            LOG.warnf("storage call failed (%s s3://%s/%s): %s -> %d %s", op, LogSafe.of(bucket), LogSafe.of(key),
                    LogSafe.of(StorageStatus.detail(e), 400), outcome.reason().httpStatus(), outcome.reason().code());
            String where = op == Op.READ_SOURCE ? " (s3://" + LogSafe.of(bucket, 63) + "/" + LogSafe.of(key, 200) + ")" : "";
            throw new SegmentationException(outcome.reason(), outcome.message() + where, e);
        }
    }
}
