using System.Text;
using MetaGrad.IO;

// Starts an atomic save of the text "new" to a target and stops inside it, so that a test can
// signal or kill the process at a known point:
//   hold TARGET GRACE_MS    writes part of the file, says "writing", then never finishes
//   slow TARGET PAUSE_MS    writes part, says "writing", pauses, finishes, says "saved", then waits
if (args.Length != 3 || args[0] is not ("hold" or "slow"))
{
    Console.Error.WriteLine("usage: hold TARGET GRACE_MS | slow TARGET PAUSE_MS");
    return 2;
}
int ms = int.Parse(args[2]);
if (args[0] == "hold") AtomicFile.Grace = TimeSpan.FromMilliseconds(ms);
AtomicFile.Write(args[1], stream =>
{
    stream.Write(Encoding.ASCII.GetBytes("ne"));
    stream.Flush();
    Console.WriteLine("writing");
    Thread.Sleep(args[0] == "hold" ? Timeout.Infinite : ms);
    stream.Write(Encoding.ASCII.GetBytes("w"));
});
Console.WriteLine("saved");
Thread.Sleep(Timeout.Infinite);
return 0;
