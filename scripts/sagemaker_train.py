"""SageMaker entry point: the job installs this package from its source dir, then runs this."""

import sys

from pokecard.aws.sagemaker_entry import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
