package dev.sapienseg.provisioning;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;

/** Opens a remote model file for streaming. One implementation per kind of source. */
public interface ModelFetcher {

    /** Whether this fetcher reads the source. */
    boolean handles(ModelSource source);

    /** Opens the file; the caller closes it. */
    RemoteFile open(ModelSource source) throws IOException;

    /**
     * An open download: its bytes, the length when the server said it (else -1), and the SHA-256 its publisher
     * announced (Hugging Face does for every LFS file), which is then checked.
     */
    record RemoteFile(InputStream body, long length, Optional<String> publishedSha256) implements Closeable {
        @Override
        public void close() throws IOException {
            body.close();
        }
    }

    /** A download that failed; {@code retryable} when trying again may help (network, 5xx, throttling). */
    final class FetchException extends IOException {
        private final boolean retryable;

        public FetchException(String message, boolean retryable) {
            super(message);
            this.retryable = retryable;
        }

        public FetchException(String message, boolean retryable, Throwable cause) {
            super(message, cause);
            this.retryable = retryable;
        }

        public boolean retryable() {
            return retryable;
        }
    }
}
