package dev.sapienseg.provisioning;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;

/** Opens a remote model file for streaming. One implementation per kind of source. */
public interface ModelFetcher {

    /** Whether this fetcher reads the source. */
    boolean handles(ModelSource source);

    /**
     * Opens the file from byte {@code offset} on (to resume a download); the server may ignore that and send it all,
     * which {@link RemoteFile#offset()} then says. The caller closes the file.
     */
    RemoteFile open(ModelSource source, long offset) throws IOException;

    /**
     * An open download.
     *
     * @param body the bytes from {@code offset} on
     * @param offset where {@code body} starts in the file (0 when the server sent the whole file)
     * @param length the whole file's length when the server said it, else -1
     * @param publishedSha256 the SHA-256 its publisher announced (the Hub does for LFS files), checked after the download
     * @param abort cuts the transfer off at once (a stalled read then fails); {@code close} may drain instead
     */
    record RemoteFile(InputStream body, long offset, long length, Optional<String> publishedSha256, Runnable abort)
            implements Closeable {
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
