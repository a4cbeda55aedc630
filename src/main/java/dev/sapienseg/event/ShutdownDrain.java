package dev.sapienseg.event;

import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.interceptor.Interceptor;

import org.eclipse.microprofile.config.Config;
import org.jboss.logging.Logger;

import dev.sapienseg.config.SapiensConfig;
import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Graceful shutdown at the HTTP level: after SIGTERM every request the server accepted gets its answer, on HTTP/1.1
 * and HTTP/2, before the server closes.
 *
 * <p>This replaces Quarkus' own handler ({@code quarkus.shutdown.timeout}, which therefore stays unset). That handler
 * sends an HTTP/2 GOAWAY as soon as any request that arrived during shutdown is answered, whatever else the
 * connection carries; a client stream crossing that GOAWAY is refused and its following DATA frame makes Netty close
 * the connection with a protocol error, taking the answers still in flight with it (seen with JDK 17.0.17+ clients,
 * which no longer ignore GOAWAY). Here a connection is told to go away only once it carries no request: a stream that
 * crosses the GOAWAY then is refused (safe to retry, RFC 9113 §8.7) and nothing accepted is lost.
 *
 * <p>The sequence, on the shutdown thread (Quarkus waits for this observer before it stops the server):
 * readiness is already DOWN ({@code SegmentationService} observes the same event first); for
 * {@code sapiens.shutdown.delay} new requests still get their quick 503 while endpoints are updated; then the requests
 * in flight finish, for up to {@code sapiens.shutdown.timeout}. Meanwhile HTTP/1.1 answers carry
 * {@code Connection: close} and each connection is closed (HTTP/1.1) or sent GOAWAY (HTTP/2) when its last request is
 * answered.
 */
@ApplicationScoped
public class ShutdownDrain {

    private static final Logger LOG = Logger.getLogger(ShutdownDrain.class);

    private final Duration delay;
    private final Duration timeout;
    /** Requests in flight per connection; a connection leaves the map when it carries none. */
    private final Map<HttpConnection, Integer> inFlight = new ConcurrentHashMap<>();
    private final Set<HttpConnection> goneAway = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));
    private final Object changed = new Object();
    private volatile boolean draining;

    public ShutdownDrain(SapiensConfig config, Config raw) {
        // As Quarkus' own delay: none in tests and dev mode, where nothing routes traffic to the app.
        this.delay = LaunchMode.current() == LaunchMode.NORMAL ? config.shutdown().delay() : Duration.ZERO;
        this.timeout = config.shutdown().timeout();
        if (config.shutdown().delay().isNegative() || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("sapiens.shutdown.delay must be >= 0 and sapiens.shutdown.timeout > 0");
        }
        for (String key : new String[] { "quarkus.shutdown.timeout", "quarkus.shutdown.delay" }) {
            raw.getOptionalValue(key, String.class).ifPresent(value -> LOG.warnf("%s=%s is set: Quarkus then runs its"
                    + " own shutdown handling beside this one, which can drop answers in flight on HTTP/2; use %s"
                    + " instead", key, value, key.replace("quarkus.", "sapiens.")));
        }
    }

    void install(@Observes Router router) {
        router.route().order(Integer.MIN_VALUE).handler(this::track);
    }

    void track(RoutingContext ctx) {
        HttpConnection connection = ctx.request().connection();
        boolean http2 = ctx.request().version() == HttpVersion.HTTP_2;
        String userAgent = ctx.request().getHeader(HttpHeaders.USER_AGENT);
        inFlight.merge(connection, 1, Integer::sum);
        if (!http2) {
            ctx.addHeadersEndHandler(v -> {
                if (draining) {
                    ctx.response().putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
                }
            });
        }
        // Called once, when the answer is written or the request is given up (client gone, connection closed).
        ctx.addEndHandler(done -> finished(connection, http2, userAgent));
        ctx.next();
    }

    private void finished(HttpConnection connection, boolean http2, String userAgent) {
        boolean idle = inFlight.computeIfPresent(connection, (c, n) -> n > 1 ? n - 1 : null) == null;
        if (idle && draining) {
            release(connection, http2, userAgent);
        }
        synchronized (changed) {
            changed.notifyAll();
        }
    }

    /** A connection that carries no request during shutdown is let go: closed (HTTP/1.1) or told to go away. */
    private void release(HttpConnection connection, boolean http2, String userAgent) {
        if (!http2) {
            connection.close();
        } else if (!mishandlesGoAway(userAgent) && goneAway.add(connection)) {
            connection.goAway(0);
        }
    }

    /**
     * The JDK's HttpClient before 17.0.17, 21.0.8 and 25 fails every stream of a connection on GOAWAY (JDK-8335181);
     * such a client is not told, its connection ends when the server stops. Unknown versions count as affected.
     */
    static boolean mishandlesGoAway(String userAgent) {
        String prefix = "Java-http-client/";
        if (userAgent == null || !userAgent.startsWith(prefix)) {
            return false;
        }
        try {
            Runtime.Version version = Runtime.Version.parse(userAgent.substring(prefix.length()).trim());
            return switch (version.feature()) {
                case 17 -> version.update() < 17;
                case 21 -> version.update() < 8;
                default -> version.feature() < 25;
            };
        } catch (IllegalArgumentException e) {
            return true;
        }
    }

    /** Requests in flight now, on all connections. */
    int inFlight() {
        return inFlight.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** After readiness went DOWN: the delay, then the requests in flight finish (bounded) before the server stops. */
    void drain(@Observes @Priority(Interceptor.Priority.APPLICATION + 500) ShutdownDelayInitiatedEvent event)
            throws InterruptedException {
        draining = true;
        Thread.sleep(delay.toMillis());
        long until = System.nanoTime() + timeout.toNanos();
        synchronized (changed) {
            int left;
            while ((left = inFlight()) > 0) {
                long wait = until - System.nanoTime();
                if (wait <= 0) {
                    LOG.warnf("shutdown: %d request(s) still in flight after sapiens.shutdown.timeout (%s); stopping"
                            + " anyway", left, timeout);
                    return;
                }
                changed.wait(Math.max(1, wait / 1_000_000));
            }
        }
        LOG.info("shutdown: every request in flight answered");
    }
}
