package dev.sapienseg.storage;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/** A storage endpoint that accepts connections and never answers: storage that hangs mid-request. */
public class BlackholeStorageResource implements QuarkusTestResourceLifecycleManager {

    private ServerSocket server;
    private final List<Socket> held = new ArrayList<>();

    @Override
    public Map<String, String> start() {
        try {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        Thread acceptor = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    synchronized (held) {
                        held.add(s); // read nothing, answer nothing
                    }
                } catch (IOException e) {
                    return;
                }
            }
        }, "blackhole-storage");
        acceptor.setDaemon(true);
        acceptor.start();
        return Map.of("quarkus.s3.endpoint-override", "http://127.0.0.1:" + server.getLocalPort(),
                "quarkus.s3.path-style-access", "true",
                "quarkus.s3.aws.credentials.type", "static",
                "quarkus.s3.aws.credentials.static-provider.access-key-id", "a",
                "quarkus.s3.aws.credentials.static-provider.secret-access-key", "b",
                "quarkus.s3.sync-client.socket-timeout", "1S",
                "quarkus.s3.sync-client.connection-timeout", "1S",
                "sapiens.storage.allowed-buckets", "photos");
    }

    @Override
    public void stop() {
        try {
            server.close();
            synchronized (held) {
                for (Socket s : held) {
                    s.close();
                }
            }
        } catch (IOException e) {
            // teardown
        }
    }
}
