"""nodered-scale: read the stack config, deploy the chosen target, export its URLs."""
import pulumi

from stack_config import load_config

config = load_config()
secret = pulumi.Output.secret(config.editor_password.get_secret_value())
import pulumi_random as random
r = random.RandomPassword("x", length=32, opts=None)
pulumi.export("editorUrl", "http://localhost")
pulumi.export("pw", secret)
