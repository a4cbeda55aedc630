package dev.sapienseg.storage;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.logging.LogSafe;
import dev.sapienseg.metrics.SegmentationMetrics;
import dev.sapienseg.metrics.StorageCall;
import dev.sapienseg.output.OutputFile;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.report.SegmentationReport;
import dev.sapienseg.storage.StorageStatus.Op;
import dev.sapienseg.storage.StoredResult.StoredObject;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;

/**
 * The mechanics of one object's stored results: write every output and then the summary that lists their ETags, read
 * a summary back and check it against the objects, remove what a failed attempt wrote. Every S3 call goes through
 * {@link #call}, so every failure is answered through {@link StorageStatus}. The rules that decide when to read,
 * write or reuse are {@link StorageSegmenter}'s.
 */
final class ResultStore {

    private static final Logger LOG = Logger.getLogger(ResultStore.class);

    /** Where one object's results go. */
    record Target(String bucket, OutputKeys keys) {
    }

    private final S3Client s3;
    private final SegmentationMetrics metrics;
    private final ObjectMapper json = new ObjectMapper();

    ResultStore(S3Client s3, SegmentationMetrics metrics) {
        this.s3 = s3;
        this.metrics = metrics;
    }

    /** The source object's metadata (ETag, version, size); a missing source is the storage status's answer. */
    HeadObjectResponse headSource(String bucket, String key) {
        return call(Op.READ_SOURCE, bucket, key, () -> s3.headObject(b -> b.bucket(bucket).key(key)));
    }

    /** The source object's bytes, if it still has the ETag its HEAD gave. */
    byte[] readSource(String bucket, String key, String eTag) {
        return call(Op.READ_SOURCE, bucket, key, () -> s3.getObjectAsBytes(b -> b.bucket(bucket).key(key).ifMatch(eTag))
                .asByteArray());
    }

    /** Removes the summary: outputs about to change must not be vouched for meanwhile. */
    void removeSummary(Target target) {
        call(Op.DELETE, target.bucket(), target.keys().summary(),
                () -> s3.deleteObject(b -> b.bucket(target.bucket()).key(target.keys().summary())));
    }

    /**
     * Writes every output, then the summary listing their ETags; on failure removes the summary and this attempt's
     * objects.
     *
     * @param attempt this attempt's id, in every object's metadata
     */
    StoredResult write(Target target, ResultIdentity identity, String attempt, StoredResult.SourceObject source,
            Segmentation segmentation, SegmentationReport report) {
        Map<String, String> metadata = identity.metadata(attempt);
        List<String> attempted = new ArrayList<>();
        List<StoredObject> written = new ArrayList<>();
        try {
            for (OutputFile file : segmentation.outputs().values()) {
                String key = target.keys().key(file.kind(), segmentation.format());
                attempted.add(key);
                written.add(put(target.bucket(), key, metadata, file));
            }
            byte[] summary = json.writeValueAsBytes(new StoredResult(source, List.copyOf(written), report, false));
            attempted.add(target.keys().summary());
            written.add(put(target.bucket(), target.keys().summary(), metadata, OutputFile.of(OutputKind.SUMMARY, summary)));
            return new StoredResult(source, List.copyOf(written), report, false);
        } catch (IOException | RuntimeException e) {
            removeAttempt(target, attempt, attempted);
            if (e instanceof SegmentationException se) {
                throw se;
            }
            LOG.errorf(e, "writing results for s3://%s/%s failed", LogSafe.of(source.bucket()), LogSafe.of(source.key()));
            throw new SegmentationException(FailureReason.INTERNAL_ERROR, "writing the results failed", e);
        }
    }

    /** Clean-up of a failed attempt: the summary first (nothing may look complete), then only our own objects. */
    private void removeAttempt(Target target, String attempt, List<String> attempted) {
        String bucket = target.bucket();
        try {
            removeSummary(target);
        } catch (SegmentationException cleanup) {
            LOG.warnf("could not remove the summary %s of a failed attempt: %s", LogSafe.of(target.keys().summary()),
                    cleanup.getMessage());
        }
        for (String key : attempted) {
            try {
                HeadObjectResponse head = call(Op.READ_OUTPUT, bucket, key, () -> s3.headObject(b -> b.bucket(bucket).key(key)));
                if (head != null && attempt.equals(head.metadata().get(ResultIdentity.META_ATTEMPT))) {
                    call(Op.DELETE, bucket, key, () -> s3.deleteObject(b -> b.bucket(bucket).key(key)));
                }
            } catch (SegmentationException cleanup) {
                LOG.warnf("could not remove partial output %s: %s", LogSafe.of(key), cleanup.getMessage());
            }
        }
    }

    /**
     * Removes the outputs of this name that {@code current} does not list: what an attempt killed before its summary
     * left under keys the current output set does not use (another output list or overlay format, say during a rolling
     * update), and outputs an older result had that this one has not. Keys are this source's by construction
     * ({@link OutputKeys}); each is looked at first (HEAD), so a versioned bucket gets no delete marker for an object
     * that is not there. A failure here is logged and left for the backfill's sweep: the result itself is complete.
     */
    void removeUnlisted(Target target, StoredResult current) {
        Set<String> listed = new HashSet<>();
        current.objects().forEach(o -> listed.add(o.key()));
        String bucket = target.bucket();
        for (String key : target.keys().all()) {
            if (listed.contains(key)) {
                continue;
            }
            try {
                if (call(Op.READ_OUTPUT, bucket, key, () -> s3.headObject(b -> b.bucket(bucket).key(key))) != null) {
                    call(Op.DELETE, bucket, key, () -> s3.deleteObject(b -> b.bucket(bucket).key(key)));
                    LOG.infof("s3://%s/%s: removed, not part of the current result", LogSafe.of(bucket), LogSafe.of(key));
                }
            } catch (SegmentationException e) {
                LOG.warnf("could not remove the unlisted output s3://%s/%s: %s", LogSafe.of(bucket), LogSafe.of(key),
                        e.getMessage());
            }
        }
    }

    /** The summary in place, judged against {@code identity} and the objects it lists. */
    ReadBack read(Target target, ResultIdentity identity, int outputCount) {
        String summaryKey = target.keys().summary();
        ResponseBytes<GetObjectResponse> summary = call(Op.READ_OUTPUT, target.bucket(), summaryKey,
                () -> s3.getObjectAsBytes(b -> b.bucket(target.bucket()).key(summaryKey)));
        if (summary == null) {
            return new ReadBack.Absent();
        }
        Map<String, String> metadata = summary.response().metadata();
        StoredResult consistent = consistent(target, identity, outputCount, summary);
        return consistent == null ? new ReadBack.Stale(metadata.get(ResultIdentity.META_IDENTITY))
                : new ReadBack.Current(consistent, metadata.get(ResultIdentity.META_ATTEMPT));
    }

    /** The summary's result (with the summary itself listed) if it is for this identity and its outputs are intact. */
    private StoredResult consistent(Target target, ResultIdentity identity, int outputCount,
            ResponseBytes<GetObjectResponse> summary) {
        Map<String, String> metadata = summary.response().metadata();
        if (!identity.digest().equals(metadata.get(ResultIdentity.META_IDENTITY))) {
            return null;
        }
        StoredResult previous;
        try {
            previous = json.readValue(summary.asByteArray(), StoredResult.class);
        } catch (IOException e) {
            LOG.debugf("unreadable summary %s: %s", LogSafe.of(target.keys().summary()), e.getMessage());
            return null;
        }
        if (previous.objects() == null || previous.objects().size() != outputCount || previous.source() == null
                || !identity.matches(previous.source())) {
            return null;
        }
        String bucket = target.bucket();
        Set<String> expected = new HashSet<>(target.keys().all());
        for (StoredObject o : previous.objects()) {
            if (!bucket.equals(o.bucket()) || !expected.contains(o.key()) || o.eTag() == null) {
                return null;
            }
            HeadObjectResponse head = call(Op.READ_OUTPUT, bucket, o.key(), () -> s3.headObject(b -> b.bucket(bucket).key(o.key())));
            if (head == null || !o.eTag().equals(unquote(head.eTag()))) {
                LOG.infof("s3://%s/%s: listed in the summary but %s", LogSafe.of(bucket), LogSafe.of(o.key()),
                        head == null ? "missing" : "changed (ETag " + LogSafe.of(unquote(head.eTag()), 80) + ")");
                return null;
            }
        }
        List<StoredObject> objects = new ArrayList<>(previous.objects());
        objects.add(new StoredObject(bucket, target.keys().summary(), "application/json",
                summary.response().contentLength(), unquote(summary.response().eTag())));
        return new StoredResult(previous.source(), List.copyOf(objects), previous.segmentation(), false);
    }

    private StoredObject put(String bucket, String key, Map<String, String> metadata, OutputFile file) {
        Supplier<InputStream> content = file.content();
        PutObjectResponse response = call(Op.WRITE, bucket, key, () -> s3.putObject(b -> b.bucket(bucket).key(key)
                .contentType(file.contentType()).metadata(metadata),
                RequestBody.fromContentProvider(content::get, file.length(), file.contentType())));
        return new StoredObject(bucket, key, file.contentType(), file.length(), unquote(response.eTag()));
    }

    static String unquote(String eTag) {
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
            metrics.storage(op == Op.READ_SOURCE || op == Op.READ_OUTPUT ? StorageCall.READ : StorageCall.WRITE,
                    System.nanoTime() - start);
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
