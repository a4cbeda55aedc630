package dev.sapienseg.backfill;

import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.storage.OutputKeys;
import dev.sapienseg.storage.ResultIdentity;

/** Asks the store whether the function already wrote complete results for a picture (one HEAD request). */
final class ResultCheck {

    private final S3Client s3;
    private final Backfill.Settings settings;

    ResultCheck(S3Client s3, Backfill.Settings settings) {
        this.s3 = s3;
        this.settings = settings;
    }

    /**
     * Whether the function's summary for this picture exists and was made from this version (ETag) of it.
     *
     * @throws SegmentationException when the function would refuse the key (400 unsafe-key): nothing to send
     */
    boolean complete(String key, String eTag) {
        OutputKeys keys = OutputKeys.derive(settings.outputPrefix(),
                settings.outputBucket() == null ? null : settings.bucket(), key);
        String outBucket = settings.outputBucket() == null ? settings.bucket() : settings.outputBucket();
        try {
            HeadObjectResponse head = s3.headObject(b -> b.bucket(outBucket).key(keys.summary()));
            return eTag != null && eTag.equals(head.metadata().get(ResultIdentity.META_SOURCE_ETAG));
        } catch (S3Exception e) {
            // No summary (404, NoSuchKeyException) or cannot tell (403, 5xx…): send, the function checks again.
            return false;
        }
    }
}
