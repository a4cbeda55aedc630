package dev.sapienseg;

import java.util.Arrays;

import dev.sapienseg.backfill.BackfillCommand;
import dev.sapienseg.batch.SegmentCommand;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;

/**
 * {@code java -jar quarkus-run.jar} serves the function; {@code java -jar quarkus-run.jar segment …} runs the batch
 * command instead, without starting the server (no port, no default model loading), and
 * {@code java -jar quarkus-run.jar backfill …} sends storage notifications for the pictures already in a bucket.
 */
@QuarkusMain
public class Main {

    public static void main(String... args) {
        if (args.length > 0 && "segment".equals(args[0])) {
            System.exit(SegmentCommand.execute(System.out, System.err, Arrays.copyOfRange(args, 1, args.length)));
        }
        if (args.length > 0 && "backfill".equals(args[0])) {
            System.exit(BackfillCommand.execute(System.out, System.err, Arrays.copyOfRange(args, 1, args.length)));
        }
        Quarkus.run(args);
    }
}
