package dev.sapienseg.storage;

import java.util.Locale;
import java.util.Set;

import dev.sapienseg.failure.FailureReason;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * The one status table for every S3 call the storage path makes. Each failed call is classified here and nowhere else:
 *
 * <table>
 * <caption>S3 failure → our answer</caption>
 * <tr><th>S3 says</th><th>source read (HEAD/GET)</th><th>summary/output read (HEAD/GET)</th><th>write, delete</th></tr>
 * <tr><td>no answer: connection refused or reset, socket/API-call timeout ({@link SdkClientException})</td>
 * <td colspan="3">503 storage-unavailable, Retry-After</td></tr>
 * <tr><td>throttling ({@code SlowDown}, 503, 429), any 5xx, {@code RequestTimeout} (a 400!), {@code OperationAborted}
 * / 409, expired or skewed credentials ({@code ExpiredToken}, {@code TokenRefreshRequired},
 * {@code RequestTimeTooSkewed}, {@code InvalidToken}), 408</td>
 * <td colspan="3">503 storage-unavailable, Retry-After</td></tr>
 * <tr><td>400 without an error code (a HEAD has no body: expired credentials look like this)</td>
 * <td colspan="3">503 storage-unavailable, Retry-After</td></tr>
 * <tr><td>412 (the source changed between our HEAD and GET)</td><td colspan="3">503 storage-unavailable: read it again</td></tr>
 * <tr><td>404 {@code NoSuchKey} / {@code NoSuchBucket}, 405 (a delete marker)</td><td>422 object-not-found</td>
 * <td>absent: recompute</td><td>503 storage-unavailable (the output bucket is missing: fix it, redeliveries succeed)</td></tr>
 * <tr><td>403</td><td>403 storage-access-denied</td><td>absent: recompute (without {@code s3:ListBucket} S3 answers 403
 * for a key that does not exist)</td><td>403 storage-access-denied</td></tr>
 * <tr><td>another 4xx</td><td>400 malformed-event (the store rejects what the event names)</td>
 * <td colspan="2">500 internal-error (our request was refused: retried, and logged as an error)</td></tr>
 * </table>
 *
 * Messages for the caller name the operation and the S3 error code, never the endpoint, the SDK's text or our
 * configuration; {@link #detail} is for the log line.
 */
public final class StorageStatus {

    /** Which call failed. */
    public enum Op {
        /** HEAD or GET of the object a notification names. */
        READ_SOURCE("read the source object"),
        /** HEAD or GET of a summary or output we may have written before (absent is normal). */
        READ_OUTPUT("read a previous result"),
        /** PUT of an output or the summary. */
        WRITE("write a result"),
        /** DELETE (clean-up of a failed attempt). */
        DELETE("remove a partial result");

        final String what;

        Op(String what) {
            this.what = what;
        }
    }

    /** The answer for one failed call: {@code reason} null means "the object is absent" (not a failure). */
    public record Outcome(FailureReason reason, String message) {
        public boolean absent() {
            return reason == null;
        }
    }

    /** Error codes that mean "try again later" whatever their HTTP status. */
    static final Set<String> TRANSIENT_CODES = Set.of("slowdown", "throttling", "throttlingexception",
            "requestlimitexceeded", "toomanyrequests", "toomanyrequestsexception", "requesttimeout",
            "operationaborted", "expiredtoken", "tokenrefreshrequired", "requesttimetooskewed", "invalidtoken",
            "internalerror", "serviceunavailable", "requesttimeoutexception", "concurrentmodification");

    private StorageStatus() {
    }

    public static Outcome classify(Op op, SdkException e) {
        if (!(e instanceof S3Exception s3)) {
            // SdkClientException (no answer, timeouts: ApiCallTimeoutException, ApiCallAttemptTimeoutException…),
            // or anything else the SDK throws without an HTTP answer.
            String kind = e instanceof SdkClientException ? "storage did not answer" : "storage call failed";
            return new Outcome(FailureReason.STORAGE_UNAVAILABLE, kind + ", could not " + op.what);
        }
        int status = s3.statusCode();
        String code = errorCode(s3);
        String shownCode = code.isEmpty() ? String.valueOf(status) : status + " " + code;
        if (TRANSIENT_CODES.contains(code.toLowerCase(Locale.ROOT)) || status >= 500 || status == 429
                || status == 408 || status == 409 || status == 0) {
            return new Outcome(FailureReason.STORAGE_UNAVAILABLE, "storage unavailable (" + shownCode + "), could not "
                    + op.what);
        }
        if (status == 400 && code.isEmpty()) {
            // A HEAD has no body, so no error code: an expired token looks exactly like this. Retrying is safe.
            return new Outcome(FailureReason.STORAGE_UNAVAILABLE, "storage answered 400 without an error code"
                    + " (on a HEAD usually expired credentials), could not " + op.what);
        }
        if (status == 412) {
            return new Outcome(FailureReason.STORAGE_UNAVAILABLE, "the source object changed while being read");
        }
        if (status == 404 || status == 405) {
            return switch (op) {
                case READ_SOURCE -> new Outcome(FailureReason.OBJECT_NOT_FOUND, "object not found ("
                        + (code.isEmpty() ? status : code) + ")");
                case READ_OUTPUT, DELETE -> new Outcome(null, "absent");
                case WRITE -> new Outcome(FailureReason.STORAGE_UNAVAILABLE, "could not " + op.what + " ("
                        + shownCode + "): does the output bucket exist?");
            };
        }
        if (status == 403) {
            return switch (op) {
                case READ_OUTPUT -> new Outcome(null, "absent (403: no s3:ListBucket on the output bucket)");
                case READ_SOURCE, WRITE, DELETE -> new Outcome(FailureReason.STORAGE_ACCESS_DENIED, "access denied ("
                        + shownCode + "), could not " + op.what + "; check the function's storage permissions");
            };
        }
        if (op == Op.READ_SOURCE) {
            return new Outcome(FailureReason.MALFORMED_EVENT, "storage refused to read the object the event names ("
                    + shownCode + ")");
        }
        return new Outcome(FailureReason.INTERNAL_ERROR, "storage refused to " + op.what + " (" + shownCode + ")");
    }

    /** For the log line: the SDK's own first line (it may name the endpoint, so never for the caller). */
    public static String detail(SdkException e) {
        String message = String.valueOf(e.getMessage());
        int newline = message.indexOf('\n');
        return e.getClass().getSimpleName() + ": " + (newline >= 0 ? message.substring(0, newline) : message);
    }

    private static String errorCode(S3Exception e) {
        String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
        return code == null ? "" : code.replaceAll("[^A-Za-z0-9.]", "");
    }
}
